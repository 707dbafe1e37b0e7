"""The exported POA report against the real one: import the seed, export, compare."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from bot.cli import main as cli_main
from bot.domain.attainment import Status
from bot.domain.numbers import parse_number
from bot.domain.periods import Period, parse_period
from bot.poa_report.reader import norm, read_report
from bot.poa_report.sources import tsv_rows
from bot.poa_report.writer import (
    AVANCE_COLUMN,
    HEADER_SUB,
    HEADER_TOP,
    STATUS_FILLS,
    ReportDocument,
    ReportLine,
    ReportSection,
    text_bytes,
)
from bot.poa_report.xlsx import header_rows, write_report, xlsx_bytes
from bot.services.export import NothingToExport, build_report, section_periods
from bot.services.importer import import_report
from bot.services.summary import build_summary

TODAY = date(2023, 4, 12)
Q1 = Period.quarter(2023, 1)


@pytest.fixture
def seeded(db, seed_tsv):
    report = read_report(seed_tsv)
    db.call(import_report, report)
    return db, report


def _seed_rows_by_key(report):
    return {(row.key, row.period.code): row for row in report.rows}


def _data_rows(sheet):
    """(section label, row number, cells) of every data row, continuation resolved."""
    label, previous, result = None, None, []
    for row in sheet.iter_rows(values_only=False):
        values = [cell.value for cell in row]
        first = values[0]
        filled = [v for v in values if v not in (None, "")]
        if len(filled) == 1 and isinstance(first, str):
            try:
                parse_period(first)
                label = first
            except ValueError:
                pass
            continue
        if len(filled) < 8 or values[11] == "META":
            previous = None if values[11] == "META" else previous
            continue
        resolved = [v if v is not None or previous is None or i > 4 else previous[i]
                    for i, v in enumerate(values)]
        previous = resolved
        result.append((label, row[0].row, resolved))
    return result


def test_exported_workbook_matches_the_seed_cell_by_cell(seeded, tmp_path):
    db, seed = seeded
    document = db.call(build_report, Q1, today=TODAY)
    path = tmp_path / "poa.xlsx"
    path.write_bytes(xlsx_bytes(document))
    sheet = load_workbook(path).active

    seed_rows = _seed_rows_by_key(seed)
    flagged_avance = {w.line for w in seed.warnings if "AVANCE %/ META ANUAL" in w.message}
    seen = set()
    rows = _data_rows(sheet)
    assert rows
    for label, number, cells in rows:
        period = parse_period(label)
        clave, accion, nombre = cells[2], cells[4], cells[9]
        key = (norm(clave), norm(accion), norm(nombre))
        freq_period = next(own for shown, own in section_periods(
            seed_rows_frequency(seed, key), period) if shown == period)
        seed_row = seed_rows.get((key, freq_period.code))
        if seed_row is None:  # a due period the seed did not print: exported empty
            assert cells[14] is None and cells[15] is None, (number, cells)
            continue
        seen.add((key, freq_period.code))
        where = f"fila {number} ({clave} {nombre[:30]} {label})"
        # VALOR ACTUAL and OBSERVACIONES are the seed's, as numbers and text.
        value = cells[14]
        expected_value = seed_row.value
        if seed_row.aggregation == "last":  # a % indicator: Excel holds the fraction
            assert sheet.cell(number, 15).number_format == "0.00%", where
            value = Decimal(str(value)) * 100
        assert Decimal(str(value)) == expected_value, where
        assert (cells[15] or "") == seed_row.observaciones, where
        # The rest of the row: catalog text, meta, the engine's percentages.
        # The catalog keeps one objective per action line and one name per unit; the seed
        # spells some of them several ways (accents, a final period, typos in 306's copy).
        assert cells[0] == seed_row.linea, where
        assert cells[1] in {r.objetivo for r in seed.rows if r.linea == cells[0]}, where
        assert _loose(cells[3]) == _loose(seed_row.unit_nombre), where
        assert (cells[10], cells[12]) == (seed_row.descripcion, seed_row.unidad_medida), where
        meta = Decimal(str(cells[11])) * (100 if seed_row.aggregation == "last" else 1)
        assert meta == seed_row.meta, where
        assert cells[5] == 1 and sheet.cell(number, 6).number_format == "0%", where
        share = Decimal(100) / seed_row.frequency.periods_per_year
        assert abs(Decimal(str(cells[6])) * 100 - share) < Decimal("0.005"), where
        if seed_row.line not in flagged_avance and seed_row.avance_pct is not None:
            # The seed truncates (13.05 for 13.0555…); we round: within 0.02 points.
            assert abs(Decimal(str(cells[7])) * 100 - seed_row.avance_pct) <= Decimal(
                "0.02"), where
    assert seen == set(seed_rows), "every row of the seed is in the export"


def _loose(text):
    return norm(text or "").rstrip(". ")


def seed_rows_frequency(report, key):
    return next(row.frequency for row in report.rows if row.key == key)


def test_header_block_and_header_rows_as_in_the_seed(seeded, seed_tsv):
    db, _seed = seeded
    sheet = load_workbook(io.BytesIO(xlsx_bytes(db.call(build_report, Q1, today=TODAY)))
                          ).active
    column_a = [sheet.cell(r, 1).value for r in range(1, 20)]
    text = [v for v in column_a if isinstance(v, str)]
    assert text[:7] == [
        "PROGRAMA OPERATIVO ANUAL 2023", "GERENCIA COMERCIAL", "PRIMER TRIMESTRE 2023",
        "EJE DE DESARROLLO: 4 / MODERNIDAD E INNOVACIÓN",
        "PROGRAMA DE DESARROLLO: 1/PROGRAMA DE GESTIÓN GUBERNAMENTAL",
        "SUB EJE: GESTIÓN INTEGRAL DE LA CALIDAD", "TRANSVERSALIDAD: TRANSPARENCIA"]
    header_row = column_a.index("LÍNEA DE ACCIÓN") + 1
    top = tuple(sheet.cell(header_row, c).value or "" for c in range(1, 18))
    sub = tuple(sheet.cell(header_row + 1, c).value or "" for c in range(1, 18))
    # The seed's own header rows (its accented variant), cell for cell.
    seed_raw = list(tsv_rows(seed_tsv.read_text(encoding="utf-8")))
    seed_tops = {row.cells for row in seed_raw if row.cells[:1] == ("LÍNEA DE ACCIÓN",)}
    seed_subs = {seed_raw[i + 1].cells for i, row in enumerate(seed_raw)
                 if row.cells[:1] == ("LÍNEA DE ACCIÓN",)}
    assert (top, sub) == (HEADER_TOP, HEADER_SUB)
    # The seed's 16 columns, then JUSTIFICACIÓN appended (the importer reads the first 16).
    assert seed_tops == {HEADER_TOP[:16]} and seed_subs == {HEADER_SUB[:16]}
    assert HEADER_SUB[16] == "JUSTIFICACIÓN"
    # Group headers merged, bold; long text columns wrap; widths set.
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {f"C{header_row}:D{header_row}", f"F{header_row}:I{header_row}",
            f"J{header_row}:P{header_row}", f"A{header_row}:A{header_row + 1}"} <= merged
    assert sheet.cell(header_row, 1).font.b
    assert sheet.cell(header_row + 2, 2).alignment.wrap_text
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["C"].width
    # 300's first three rows share LÍNEA 654 and its objective: blank below, with no rule
    # between them, so the run reads as one merged cell; the next línea (653) opens a rule.
    first = header_row + 2
    assert [sheet.cell(r, 1).value for r in range(first, first + 4)] == ["654", None, None,
                                                                         "653"]

    def rule(row, column, side):
        line = getattr(sheet.cell(row, column).border, side)
        return line.style if line is not None else None

    assert rule(first, 1, "top") == "thin" and rule(first, 1, "bottom") is None
    assert rule(first + 1, 1, "top") is None
    assert rule(first + 2, 1, "bottom") == "thin"
    assert rule(first + 1, 14, "top") == "thin"  # other columns: the full grid
    assert sheet.cell(header_row + 2, 12).number_format == "#,##0"


def test_the_reader_reads_the_export_back_as_the_seed(seeded, tmp_path):
    db, seed = seeded
    document = db.call(build_report, Q1, today=TODAY)
    expected = {k: (r.value, r.observaciones) for k, r in _seed_rows_by_key(seed).items()}
    for name, data in (("poa.xlsx", xlsx_bytes(document)),
                       ("poa.tsv", text_bytes(document, delimiter="\t"))):
        path = tmp_path / name
        path.write_bytes(data)
        back = read_report(path)
        got = {k: (r.value, r.observaciones) for k, r in _seed_rows_by_key(back).items()
               if r.value is not None or r.observaciones}
        assert got == expected, name


def test_csv_twin_prints_figures_like_the_report(seeded):
    db, _seed = seeded
    document = db.call(build_report, Q1, today=TODAY)
    data = text_bytes(document)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the accents right
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    recibos = next(r for r in rows if len(r) == 17 and r[9] == "RECIBOS ENTREGADOS A DOMICILIO")
    assert recibos[5:8] == ["100%", "8.33%", "8.33%"]
    assert recibos[11] == "255,835" and recibos[14] == "255,835"
    inspeccion = next(r for r in rows if len(r) == 17 and r[9] == "INSPECCION")
    assert inspeccion[11] == "8.33%" and inspeccion[14] == "8.33%"


def test_month_export_shows_quarterly_indicators_in_the_month(seeded):
    db, _seed = seeded
    document = db.call(build_report, Period.month(2023, 3), today=TODAY)
    assert {s.period_label for s in document.sections} == {"mar-23"}
    medidores = next(line for s in document.sections for line in s.lines
                     if line.nombre == "INSTALACION DE MEDIDORES")
    assert medidores.value == Decimal(773)
    assert medidores.share_of_year == Decimal(25)


def test_year_to_date_leaves_out_periods_not_started(seeded):
    db, _seed = seeded
    document = db.call(build_report, Period.whole_year(2023), today=TODAY)
    labels = {s.period_label for s in document.sections}
    assert {"ene-23", "abr-23", "PRIMER TRIMESTRE 2023", "PRIMER SEMESTRE 2023"} <= labels
    assert "may-23" not in labels and "SEGUNDO TRIMESTRE 2023" in labels


def test_nothing_to_export_for_a_year_without_catalog(seeded):
    db, _seed = seeded
    with pytest.raises(NothingToExport, match="2024"):
        db.call(build_report, Period.quarter(2024, 1), today=TODAY)


def test_cli_export_writes_xlsx_csv_and_tsv(seeded, database_url, tmp_path, monkeypatch,
                                            capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("t1.xlsx", "t1.csv", "t1.tsv"):
        assert cli_main(["export", "--period", "2023-T1", "--out", str(tmp_path / name)]) == 0
        assert (tmp_path / name).stat().st_size > 1000
    assert "secciones" in capsys.readouterr().out
    back = read_report(tmp_path / "t1.tsv")
    assert any(r.value == Decimal(142638) for r in back.rows)
    assert cli_main(["export", "--period", "foo", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert cli_main(["export", "--period", "2023-T1", "--out", str(tmp_path / "x.pdf")]) == 2
    assert cli_main(["export", "--period", "2030", "--out", str(tmp_path / "x.xlsx")]) == 1


def test_writer_escapes_nothing_and_keeps_decimals():
    line = ReportLine(
        linea="1", objetivo="O", unit_clave="9", unit_nombre="U", accion="A",
        share_of_year=Decimal(100) / 12, cumulative=Decimal("12.345"), comentarios="",
        nombre="N <x> & y", descripcion="", meta=Decimal("2.5"), unidad_medida="PZ",
        frecuencia="MENSUAL", value=Decimal("1234.567"), observaciones="=SUM(A1)")
    document = ReportDocument(2023, (ReportSection("ene-23", "E", "P", "S", "T", (line,)),))
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document))).active
    row = next(r for r in sheet.iter_rows(values_only=True) if r[9] == "N <x> & y")
    assert Decimal(str(row[14])) == Decimal("1234.567")
    assert Decimal(str(row[7])) == Decimal("0.1235")  # 12.35 % as shown, half-up
    text = text_bytes(document).decode("utf-8-sig")
    assert "1,234.567" in text and "12.35%" in text
    # A remark that looks like a formula stays text, in the workbook and in the CSV.
    cell = next(c for c in sheet["P"] if c.value == "=SUM(A1)")
    assert cell.data_type == "s"
    assert ",'=SUM(A1)" in text
    assert parse_number(text.split("\r\n")[-2].split(",")[11]).value == Decimal("2.5")


# --- lossless export → import (issue 9) ------------------------------------------------------

TRICKY_REMARKS = ["=1+1", "+52 casos", "-3 devueltos", "@ana revisó", "'=ya con apóstrofo",
                  "dos\nrenglones  y doble espacio", "con\ttabulador"]


def _stored(db):
    from sqlmodel import select

    from storage.models import RemarkWithoutValue, ReportedValue, Revision

    with db.session() as s:
        return (sorted((v.indicator_id, v.period, v.value, v.meta, v.observaciones, v.source)
                       for v in s.exec(select(ReportedValue))),
                sorted((r.indicator_id, r.period, r.observaciones)
                       for r in s.exec(select(RemarkWithoutValue))),
                len(s.exec(select(Revision)).all()))


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv", ".csv"])
def test_reimporting_an_export_changes_nothing(db, seed_tsv, tmp_path, suffix):
    from sqlmodel import select

    from storage.models import ReportedValue

    # A period without value but with a remark, and remarks a spreadsheet would run.
    text = seed_tsv.read_text(encoding="utf-8").replace("MENSUAL\t11052\t", "MENSUAL\t\t")
    first = tmp_path / "primero.tsv"
    first.write_text(text, encoding="utf-8")
    db.call(import_report, read_report(first))
    with db.session() as s:
        values = s.exec(select(ReportedValue).order_by(ReportedValue.id)).all()
        for value, remark in zip(values, TRICKY_REMARKS, strict=False):
            value.observaciones = remark
            s.add(value)
    before = _stored(db)
    assert len(before[1]) == 1 and {v[4] for v in before[0]} >= set(TRICKY_REMARKS)

    out = tmp_path / f"export{suffix}"
    write_report(db.call(build_report, Q1, today=TODAY), out)
    result = db.call(import_report, read_report(out))
    assert (result.values_new, result.values_changed, result.remarks_new,
            result.remarks_changed) == (0, 0, 0, 0), suffix
    assert result.values_unchanged == 51
    assert _stored(db) == before


def test_text_twin_neutralises_cells_a_spreadsheet_would_run():
    line = ReportLine(
        linea="1", objetivo="=HYPERLINK(\"http://x\")", unit_clave="9",
        unit_nombre="+CMD|' /C calc'!A0", accion="@SUM(1+1)", share_of_year=Decimal(25),
        cumulative=None, comentarios="\tcomentario", nombre="-2+3", descripcion="\rdescr",
        meta=Decimal(5), unidad_medida="PZ", frecuencia="TRIMESTRAL", value=Decimal(-1),
        observaciones="=1+1")
    document = ReportDocument(2023, (ReportSection("PRIMER TRIMESTRE 2023", "E", "P", "S", "T",
                                                   (line,)),))
    rows = list(csv.reader(io.StringIO(text_bytes(document).decode("utf-8-sig"))))
    (data,) = [r for r in rows if len(r) == 17 and r[0] == "1"]
    assert data[1] == "'=HYPERLINK(\"http://x\")"
    assert (data[3], data[4], data[8], data[9], data[10], data[15]) == (
        "'+CMD|' /C calc'!A0", "'@SUM(1+1)", "'\tcomentario", "'-2+3", "'\rdescr", "'=1+1")
    assert data[14] == "-1"  # a number is a number
    # In the workbook every such text is a text cell, never a formula.
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document))).active
    (row,) = [r for r in sheet.iter_rows() if r[0].value == "1"]
    for cell in (row[1], row[3], row[4], row[9], row[15]):
        assert cell.data_type == "s" and not str(cell.value).startswith("'"), cell.coordinate
    assert row[15].value == "=1+1"


def test_the_reader_removes_exactly_the_added_apostrophe(tmp_path):
    from bot.poa_report.sources import unneutralise
    from bot.poa_report.writer import neutralise

    for text in ["=1", "+1", "-1", "@a", "\tx", "\rx", "'=1", "''+1", "'hola", "hola", "'",
                 "''", "-", "1-2"]:
        assert unneutralise(neutralise(text)) == text, text
    assert unneutralise("'hola") == "'hola"  # typed by a person: not ours to remove


# --- frozen header, print titles, traffic-light fills ----------------------------------------

def test_workbook_freezes_and_prints_the_header_rows(seeded):
    db, _seed = seeded
    book = load_workbook(io.BytesIO(xlsx_bytes(db.call(build_report, Q1, today=TODAY))))
    sheet = book.active
    top, bottom = header_rows()
    assert [sheet.cell(top, 1).value, sheet.cell(bottom, 6).value] == [
        "LÍNEA DE ACCIÓN", "META ANUAL"]
    # Frozen below the header rows; the view starts at them, so only they stay on top.
    assert sheet.freeze_panes == f"A{bottom + 1}"
    pane = sheet.sheet_view.pane
    assert (pane.state, pane.ySplit, pane.xSplit) == ("frozen", 2, None)
    assert sheet.sheet_view.topLeftCell == f"A{top}"
    # Repeated at the top of every printed page.
    assert sheet.print_title_rows == f"${top}:${bottom}"


def _avance_fills(sheet):
    """(indicator name, section label, VALOR ACTUAL, fill colour) of every data row."""
    label, rows = None, []
    for row in sheet.iter_rows():
        first = row[0].value
        if isinstance(first, str) and (first.endswith("-23") or "TRIMESTRE" in first):
            label = first
        if len(row) < 16 or row[9].value in (None, "NOMBRE", "INDICADOR DE DESEMPEÑO"):
            continue
        fill = row[AVANCE_COLUMN].fill
        color = fill.fgColor.rgb[-6:] if fill.fill_type == "solid" else None
        rows.append((row[9].value, label, row[14].value, color))
    return rows


def test_avance_cells_carry_the_summarys_traffic_light(seeded):
    db, _seed = seeded
    document = db.call(build_report, Q1, today=TODAY)
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document))).active
    rows = _avance_fills(sheet)
    assert rows and len(rows) == sum(len(s.lines) for s in document.sections)
    # Each row's colour is the status /resumen gives the indicator for that period.
    by_period = {}
    for period in (Period.month(2023, m) for m in (1, 2, 3)):
        by_period[period.short_label] = period
    by_period["PRIMER TRIMESTRE 2023"] = Q1
    checked = set()
    for name, label, value, color in rows:
        summary = db.call(build_summary, by_period[label], today=TODAY)
        lines = [line for unit in summary.units for line in unit.lines if line.nombre == name]
        statuses = {line.status for line in lines}
        if len(statuses) != 1:
            continue  # the same name in two units with different lights: checked via ids
        status = statuses.pop()
        assert color == STATUS_FILLS.get(status), (name, label, status, color)
        assert (value is None) == (status in (Status.MISSING, Status.NOT_DUE)), (name, label)
        checked.add(status)
    # The seed has lights of every colour among its rows.
    assert {Status.ABOVE, Status.ON_TARGET, Status.BEHIND} <= checked
    # Other columns of the data rows keep no fill.
    names = {name for name, *_ in rows}
    assert all(cell.fill.fill_type is None for row in sheet.iter_rows()
               if len(row) == 16 and row[9].value in names
               for i, cell in enumerate(row) if i != AVANCE_COLUMN)


def test_a_due_unreported_row_is_grey_and_not_yet_due_is_unfilled(db):
    from tests.harness import add_sample_catalog

    db.call(add_sample_catalog)
    # 10 February: January is due (and unreported), February is not yet.
    document = db.call(build_report, Period.month(2023, 1), today=date(2023, 2, 10))
    statuses = {line.status for s in document.sections for line in s.lines}
    assert statuses <= {Status.MISSING, Status.NOT_DUE} and Status.MISSING in statuses
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document))).active
    colors = {color for _n, _l, value, color in _avance_fills(sheet) if value is None}
    assert STATUS_FILLS[Status.MISSING] in colors
    assert all(Decimal(0) != line.cumulative or line.value is None
               for s in document.sections for line in s.lines)
