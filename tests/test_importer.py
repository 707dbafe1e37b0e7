"""Importing the POA report into the database, and the ``poa-bot import-poa`` command."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select, text

from bot.cli import main
from bot.poa_report import read_report
from bot.services.importer import ImportRefused, import_report
from storage.models import ActionLine, Indicator, ReportedValue, Revision, Unit

NOW = datetime(2023, 4, 12, 15, 0, tzinfo=UTC)
LATER = datetime(2023, 5, 2, 9, 0, tzinfo=UTC)


def do_import(db, path_or_report, **kwargs):
    report = path_or_report if not isinstance(path_or_report, Path) else read_report(
        path_or_report)
    with db.session() as session:
        return import_report(session, report, **kwargs)


def snapshot(db) -> dict:
    """Every row the import writes, as plain tuples (ids included)."""
    with db.session() as s:
        return {
            "units": sorted((u.id, u.clave, u.nombre) for u in s.exec(select(Unit))),
            "lines": sorted((a.id, a.code, a.objetivo, a.eje, a.sub_eje, a.programa,
                             a.transversalidad) for a in s.exec(select(ActionLine))),
            "indicators": sorted((i.id, i.year, i.unit_id, i.action_line_id, i.accion,
                                  i.nombre, i.meta, i.frecuencia, i.aggregation, i.position,
                                  i.comentarios, i.descripcion, i.unidad_medida)
                                 for i in s.exec(select(Indicator))),
            "values": sorted((v.id, v.indicator_id, v.period, v.year, v.period_start,
                              v.period_end, v.value, v.meta, v.observaciones, v.source,
                              v.reported_at) for v in s.exec(select(ReportedValue))),
            "revisions": sorted((r.id, r.indicator_id, r.period, r.old_value, r.new_value)
                                for r in s.exec(select(Revision))),
        }


def values_of(db, clave: str, nombre_start: str, year: int = 2023) -> list[tuple]:
    with db.session() as s:
        rows = s.exec(
            select(ReportedValue.period, ReportedValue.value, ReportedValue.meta)
            .join(Indicator, Indicator.id == ReportedValue.indicator_id)
            .join(Unit, Unit.id == Indicator.unit_id)
            .where(Unit.clave == clave, Indicator.year == year,
                   Indicator.nombre.startswith(nombre_start))
            .order_by(ReportedValue.period_start, ReportedValue.period)).all()
    return [tuple(r) for r in rows]


def indicator(db, clave: str, nombre_start: str, year: int = 2023) -> Indicator:
    with db.session() as s:
        return s.exec(select(Indicator).join(Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave == clave, Indicator.year == year,
            Indicator.nombre.startswith(nombre_start))).one()


def test_first_import_loads_catalog_and_every_value(db, seed_tsv):
    result = do_import(db, seed_tsv, now=NOW)
    assert (result.units_new, result.action_lines_new, result.indicators_new) == (9, 3, 24)
    assert (result.values_new, result.values_changed, result.values_unchanged) == (52, 0, 0)
    assert len(result.warnings) == 6
    with db.session() as s:
        assert len(s.exec(select(Indicator).where(Indicator.year == 2023)).all()) == 24
        assert {v.source for v in s.exec(select(ReportedValue))} == {"import"}
    # Periods: months, 300's half-year, 315's quarter.
    assert values_of(db, "300", "PROCESOS HOMOLOGADOS") == [("2023-S1", 1, 1)]
    assert values_of(db, "315", "RECIBOS PAGADOS") == [("2023-Q1", 142638, 120000)]
    assert indicator(db, "315", "RECIBOS PAGADOS").frecuencia == "TRIMESTRAL"
    # 303's CAPTURA changed its meta after January: each value keeps its own.
    assert values_of(db, "303", "CAPTURA") == [
        ("2023-01", 255948, 255948), ("2023-02", 255900, 255835), ("2023-03", 255948, 255835)]
    assert indicator(db, "303", "CAPTURA").meta == Decimal(255835)
    assert result.meta_changes == ["303 · CAPTURA DE INFORMACION A BASE DE DATOS A TIEMPO: "
                                   "255,948 (2023-01) → 255,835 (2023-02)"]
    inspeccion = indicator(db, "306", "INSPECCION")
    assert (inspeccion.aggregation, inspeccion.meta) == ("last", Decimal("8.33"))
    # Position follows the report inside each unit.
    with db.session() as s:
        names = s.exec(select(Indicator.nombre).join(Unit, Unit.id == Indicator.unit_id)
                       .where(Unit.clave == "300").order_by(Indicator.position)).all()
    assert names[-1] == "PROCESOS HOMOLOGADOS" and names[0].startswith("CUMPLIMIENTO")


def test_importing_twice_changes_nothing(db, seed_tsv):
    do_import(db, seed_tsv, now=NOW)
    before = snapshot(db)
    again = do_import(db, seed_tsv, now=LATER)
    assert (again.units_new, again.units_updated, again.action_lines_new,
            again.action_lines_updated, again.indicators_new, again.indicators_updated) == (
        0, 0, 0, 0, 0, 0)
    assert (again.indicators_unchanged, again.values_unchanged) == (24, 52)
    assert (again.values_new, again.values_changed) == (0, 0)
    assert not again.changed_anything
    assert snapshot(db) == before


def test_a_corrected_value_is_updated_with_a_revision(db, seed_tsv, tmp_path):
    do_import(db, seed_tsv, now=NOW)
    text = seed_tsv.read_text(encoding="utf-8")
    corrected = tmp_path / "corregido.tsv"
    corrected.write_text(text.replace("\t115\t98 reconexiones", "\t98\t98 reconexiones"),
                         encoding="utf-8")
    result = do_import(db, corrected, now=LATER)
    assert (result.values_changed, result.values_unchanged, result.values_new) == (1, 51, 0)
    assert not any("98 reconexiones" in w.message for w in result.warnings)
    assert ("2023-02", 98, 150) in values_of(db, "306", "RECONEXION DE SERVICIO")
    with db.session() as s:
        (revision,) = s.exec(select(Revision)).all()
    assert (revision.period, revision.old_value, revision.new_value) == ("2023-02", 115, 98)
    assert (revision.source, revision.at) == ("import", LATER)


def test_a_value_captured_through_the_bot_is_not_overwritten(db, seed_tsv):
    do_import(db, seed_tsv, now=NOW)
    with db.session() as s:
        value = s.exec(select(ReportedValue).where(ReportedValue.period == "2023-01",
                                                   ReportedValue.value == 11052)).one()
        value.value, value.source = Decimal(11000), "telegram"
        s.add(value)
    result = do_import(db, seed_tsv, now=LATER)
    assert result.values_kept == 1
    assert any("11,000" in w.message and "telegram" in w.message for w in result.warnings)
    assert values_of(db, "308", "SOLUCIONES") == [("2023-01", 11000, 7000)]


def test_empty_valor_actual_stores_nothing(db, seed_tsv, tmp_path):
    text = seed_tsv.read_text(encoding="utf-8")
    path = tmp_path / "vacio.tsv"
    path.write_text(text.replace("MENSUAL\t11052\t", "MENSUAL\t\t"), encoding="utf-8")
    result = do_import(db, path, now=NOW)
    assert (result.values_new, result.values_not_reported) == (51, 1)
    assert values_of(db, "308", "SOLUCIONES") == []
    assert indicator(db, "308", "SOLUCIONES").meta == Decimal(7000)


def test_catalog_only_loads_indicators_without_values(db, seed_tsv):
    result = do_import(db, seed_tsv, catalog_only=True, now=NOW)
    assert (result.indicators_new, result.values_new) == (24, 0)
    with db.session() as s:
        assert s.exec(select(ReportedValue)).all() == []
        assert len(s.exec(select(Indicator)).all()) == 24


def test_year_rollover_loads_last_years_report_as_this_years_plan(db, seed_tsv):
    do_import(db, seed_tsv, now=NOW)
    result = do_import(db, seed_tsv, catalog_only=True, year=2026, now=LATER)
    assert result.years == [2026]
    assert (result.indicators_new, result.units_new, result.values_new) == (24, 0, 0)
    with db.session() as s:
        years = s.exec(select(Indicator.year)).all()
        assert sorted(set(years)) == [2023, 2026] and len(years) == 48
        assert {v.year for v in s.exec(select(ReportedValue))} == {2023}
    rolled = indicator(db, "315", "RECIBOS PAGADOS", year=2026)
    assert (rolled.frecuencia, rolled.meta) == ("TRIMESTRAL", Decimal(120000))
    assert indicator(db, "303", "CAPTURA", year=2026).meta == Decimal(255835)
    again = do_import(db, seed_tsv, catalog_only=True, year=2026, now=LATER)
    assert (again.indicators_new, again.indicators_updated) == (0, 0)


def test_year_with_values_moves_every_period(db, seed_tsv):
    result = do_import(db, seed_tsv, year=2024, now=NOW)
    assert result.periods == ["2024-01", "2024-02", "2024-03", "2024-Q1", "2024-S1"]
    assert values_of(db, "300", "PROCESOS HOMOLOGADOS", year=2024) == [("2024-S1", 1, 1)]
    with db.session() as s:
        value = s.exec(select(ReportedValue).where(ReportedValue.period == "2024-S1")).one()
    assert (value.period_start.isoformat(), value.period_end.isoformat()) == (
        "2024-01-01", "2024-06-30")


def test_dry_run_writes_nothing(db, seed_tsv):
    result = do_import(db, seed_tsv, dry_run=True, now=NOW)
    assert (result.indicators_new, result.values_new) == (24, 52)
    assert snapshot(db) == {"units": [], "lines": [], "indicators": [], "values": [],
                            "revisions": []}


def test_a_refused_import_rolls_back_everything(db, seed_tsv):
    report = read_report(seed_tsv)
    december = report.rows[0].__class__(**{**report.rows[0].__dict__,
                                           "period": report.rows[0].period.previous()})
    report.rows.append(december)  # a report spanning 2022 and 2023
    with pytest.raises(ImportRefused, match="varios años"):
        do_import(db, report, year=2026, now=NOW)
    assert snapshot(db)["indicators"] == []


# --- the command ------------------------------------------------------------------------------

@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return database_url


def test_cli_imports_and_prints_numbered_warnings(cli_env, seed_tsv, capsys, db):
    assert main(["import-poa", str(seed_tsv)]) == 0
    out = capsys.readouterr().out
    assert "Indicadores: 24 nuevos, 0 actualizados, 0 sin cambios." in out
    assert "Valores: 52 nuevos, 0 cambiados, 0 sin cambios." in out
    assert "  315 COORDINACION DE OFICINAS FORANEAS: 1 indicador, 1 valor" in out
    assert "Advertencias (6)" in out
    assert "255,948 (2023-01) → 255,835 (2023-02)" in out
    assert "1. línea 23: 300 · PROCESOS HOMOLOGADOS" in out
    assert "6. línea 361: 315 · RECIBOS PAGADOS (2023-Q1): el desglose" in out
    assert main(["import-poa", str(seed_tsv)]) == 0
    again = capsys.readouterr().out
    assert "Valores: 0 nuevos, 0 cambiados, 52 sin cambios." in again
    assert "Nada cambió" in again
    assert len(snapshot(db)["indicators"]) == 24


def test_cli_dry_run_and_catalog_only(cli_env, seed_tsv, capsys, db):
    assert main(["import-poa", str(seed_tsv), "--dry-run"]) == 0
    assert "SIMULACIÓN" in capsys.readouterr().out
    assert snapshot(db)["indicators"] == []
    assert main(["import-poa", str(seed_tsv), "--catalog-only", "--year", "2024"]) == 0
    out = capsys.readouterr().out
    assert "POA 2024" in out and "no se cargaron (--catalog-only)" in out
    assert len(snapshot(db)["indicators"]) == 24 and snapshot(db)["values"] == []


def test_cli_malformed_file_names_line_and_column_and_writes_nothing(cli_env, seed_tsv,
                                                                     tmp_path, capsys, db):
    lines = seed_tsv.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if "\t3797\t3797 toma" in line)
    lines[index] = lines[index].replace("\t3797\t3797 toma", "\tabc\t3797 toma")
    bad = tmp_path / "malo.tsv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    assert main(["import-poa", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"malo.tsv: línea {index + 1}, columna VALOR ACTUAL: "
                                    "«abc» no es un número. No se importó nada.")
    assert "Traceback" not in captured.err
    assert snapshot(db)["units"] == []


def test_cli_missing_file(cli_env, tmp_path, capsys):
    assert main(["import-poa", str(tmp_path / "no-existe.tsv")]) == 1
    assert "No existe el archivo" in capsys.readouterr().err


# --- issue 9: what the office signs -------------------------------------------------------

REMARK = "META CUMPLIDA GRACIAS A LAS PARCIALIDADES SE LOGRO INCREMENTAR LA META"


def test_a_remark_on_a_row_without_value_is_kept_but_nothing_is_reported(db, seed_tsv,
                                                                         tmp_path):
    from storage.models import RemarkWithoutValue

    text = seed_tsv.read_text(encoding="utf-8")
    path = tmp_path / "vacio.tsv"
    path.write_text(text.replace("MENSUAL\t11052\t", "MENSUAL\t\t"), encoding="utf-8")
    result = do_import(db, path, now=NOW)
    assert (result.values_new, result.values_not_reported, result.remarks_new) == (51, 1, 1)
    assert values_of(db, "308", "SOLUCIONES") == []  # empty means not reported, never zero
    soluciones = indicator(db, "308", "SOLUCIONES")
    with db.session() as s:
        (remark,) = s.exec(select(RemarkWithoutValue)).all()
    assert (remark.indicator_id, remark.period, remark.observaciones, remark.source,
            remark.updated_at) == (soluciones.id, "2023-01", REMARK, "import", NOW)
    again = do_import(db, path, now=LATER)
    assert (again.remarks_new, again.remarks_changed, again.changed_anything) == (0, 0, False)
    # The value arrives with a later report: the period is reported, the loose remark goes.
    do_import(db, seed_tsv, now=LATER)
    assert values_of(db, "308", "SOLUCIONES") == [("2023-01", 11052, 7000)]
    with db.session() as s:
        assert s.exec(select(RemarkWithoutValue)).all() == []


@pytest.mark.parametrize("look_alike", ["３０３", "303\u200b", "\u2060303\u00a0"])
def test_look_alike_claves_load_one_unit(db, seed_tsv, tmp_path, look_alike):
    lines = seed_tsv.read_text(encoding="utf-8").split("\n")
    changed = 0
    for index, line in enumerate(lines):
        cells = line.split("\t")
        if len(cells) > 2 and cells[2] == "303" and changed < 2:
            cells[2] = look_alike
            lines[index] = "\t".join(cells)
            changed += 1
    path = tmp_path / "parecidos.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = do_import(db, path, now=NOW)
    assert (result.units_new, result.indicators_new, result.values_new) == (9, 24, 52)
    with db.session() as s:
        assert sorted(s.exec(select(Unit.clave))) == [
            "300", "303", "304", "305", "306", "307", "308", "309", "315"]


def test_cli_refuses_a_nul_in_a_cell_on_every_database(cli_env, seed_tsv, tmp_path, capsys,
                                                       db):
    lines = seed_tsv.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if "\t3797\t3797 toma" in line)
    lines[index] = lines[index].replace("3797 toma", "3797\x00 toma")
    bad = tmp_path / "nul.tsv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    assert main(["import-poa", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"nul.tsv: línea {index + 1}, columna OBSERVACIONES: la celda tiene un carácter de "
        "control invisible (U+0000); bórralo y vuelve a guardar el archivo. No se importó nada.")
    assert snapshot(db)["units"] == []


# --- set-based loading ----------------------------------------------------------------------

def scaled_report(seed_tsv: Path, copies: int, tmp_path: Path) -> Path:
    """The seed's sections ``copies`` times, unit claves renumbered per copy."""
    lines = seed_tsv.read_text(encoding="utf-8").split("\n")
    out = []
    for copy in range(copies):
        for line in lines:
            cells = line.split("\t")
            if len(cells) >= 15 and cells[2].strip().isdigit():
                cells[2] = f"{cells[2].strip()}{copy:02d}"
            out.append("\t".join(cells))
    path = tmp_path / f"x{copies}.tsv"
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def count_statements(db, fn) -> int:
    from sqlalchemy import event

    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_statements_do_not_grow_with_the_report(db, seed_tsv, tmp_path):
    """Importing 1× and 4× the seed (first, again unchanged, then every value corrected) runs
    the same number of SQL statements: none per row."""
    counts = {}
    for copies in (1, 4):
        with db.session() as s:  # start from an empty database for each size
            for table in ("revisions", "remarks_without_value", "reported_values",
                          "indicators", "action_lines", "units", "gerencias"):
                s.exec(text(f"DELETE FROM {table}"))
        report = read_report(scaled_report(seed_tsv, copies, tmp_path))
        corrected = read_report(scaled_report(seed_tsv, copies, tmp_path))
        corrected.rows[:] = [r.__class__(**{**r.__dict__, "value": r.value + 1})
                             if r.value is not None else r for r in corrected.rows]
        counts[copies] = [count_statements(db, lambda r=r: db.call(import_report, r, now=NOW))
                          for r in (report, report, corrected)]
        with db.session() as s:
            assert len(s.exec(select(ReportedValue)).all()) == 52 * copies
            assert len(s.exec(select(Revision)).all()) == 52 * copies
    assert counts[1] == counts[4], counts
    assert max(counts[1]) <= 25, counts
