"""``poa-bot resumen`` through ``bot.cli.main``: formats, filters, errors, and the real report."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal as D

import pytest

from bot.commands.resumen import CSV_COLUMNS
from bot.domain.attainment import Status
from bot.domain.periods import Frequency
from tests.test_summary import Catalog


@pytest.fixture
def small(db):
    with db.session() as s:
        c = Catalog(s)
        agua = c.indicator("305", "CONTRATOS AGUA", 30, position=0)
        c.indicator("305", "CONTRATOS DRENAJE", 20, position=1)
        share = c.indicator("306", "INSPECCION", "8.33", aggregation="last", unidad="%")
        quarterly = c.indicator("307", "INSTALACION", 750, Frequency.QUARTERLY)
        for code, value in (("2023-01", 45), ("2023-02", 43), ("2023-03", 31)):
            c.value(agua, code, value, observaciones=f"nota, con coma {code}")
        for code, value in (("2023-01", "8.33"), ("2023-02", "16.66"), ("2023-03", "25")):
            c.value(share, code, value)
        c.value(quarterly, "2023-Q1", "773.5")
        c.coordinador("Ana López", "305")


def _csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    return list(reader)


def test_csv_rows_are_stable_and_exact(cli, small):
    code, out, err = cli("resumen", "--period", "mar-23", "--format", "csv")
    assert (code, err) == (0, "")
    rows = {row["indicador"]: row for row in _csv(out)}
    assert list(rows) == ["CONTRATOS AGUA", "CONTRATOS DRENAJE", "INSPECCION", "INSTALACION"]
    agua = rows["CONTRATOS AGUA"]
    assert agua["periodo"] == "2023-03" and agua["periodo_indicador"] == "2023-03"
    assert (agua["meta"], agua["valor"]) == ("30", "31")
    assert agua["cumplimiento_periodo_pct"] == "103.33"
    assert agua["avance_acumulado_pct"] == "33.06"  # 119 / 360
    assert agua["avance_esperado_pct"] == "25.00"
    assert (agua["estado"], agua["reportado"], agua["fuera_de_tiempo"]) == ("above", "si", "no")
    assert agua["observaciones"] == "nota, con coma 2023-03"
    drenaje = rows["CONTRATOS DRENAJE"]
    assert drenaje["valor"] == drenaje["cumplimiento_periodo_pct"] == ""
    assert drenaje["avance_acumulado_pct"] == "0.00"
    assert (drenaje["estado"], drenaje["reportado"]) == ("missing", "no")
    assert drenaje["fuera_de_tiempo"] == "si" and drenaje["periodos_sin_reportar"] == "2023-03"
    assert rows["INSPECCION"]["avance_acumulado_pct"] == "25.00"
    assert rows["INSPECCION"]["meta"] == "8.33"
    instalacion = rows["INSTALACION"]
    assert (instalacion["periodo_indicador"], instalacion["valor"]) == ("2023-Q1", "773.5")


def test_json_document(cli, small):
    code, out, _err = cli("resumen", "--period", "2023-Q1", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["periodo"] == "2023-Q1" and doc["avance_esperado_pct"] == "25.00"
    assert doc["completitud"] == {
        "unidades_reportadas": 2, "unidades_debidas": 3, "unidades_pct": "66.67",
        "indicadores_reportados": 3, "indicadores_debidos": 4, "indicadores_pct": "75.00"}
    assert doc["puntualidad"]["fuera_de_tiempo"] == 1
    assert set(doc["estados"]) == {s.value for s in Status}
    assert sum(doc["estados"].values()) == 4
    (unit305, *_rest) = doc["unidades"]
    assert unit305["responsables"] == ["Ana López"] and not unit305["todo_reportado"]
    agua = unit305["indicadores"][0]
    assert (agua["valor"], agua["meta"]) == ("119", "90")
    assert agua["cumplimiento_periodo_pct"] == "132.22"
    assert agua["agregacion"] == "sum" and agua["reportado"] is True
    drenaje = unit305["indicadores"][1]
    assert drenaje["valor"] is None and drenaje["periodos_sin_reportar"] == [
        "2023-01", "2023-02", "2023-03"]
    assert doc["sin_reportar"] == [{
        "unidad_clave": "305", "unidad_nombre": "COORDINACION 305", "indicador_id":
        drenaje["indicador_id"], "indicador": "CONTRATOS DRENAJE",
        "periodos": ["2023-01", "2023-02", "2023-03"], "responsables": ["Ana López"],
        "vencido": True}]


def test_table_is_spanish_and_aligned(cli, small):
    code, out, _err = cli("resumen", "--period", "2023-03")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Resumen POA · marzo 2023 (avance esperado 25.00%")
    assert lines[1] == ("Entrega: unidades 2 de 3 (66.67%); indicadores 3 de 4 (75.00%)")
    header = next(i for i, line in enumerate(lines) if line.startswith("Unidad"))
    body = lines[header + 2: header + 6]
    labels = {status.label for status in Status}
    names = {"CONTRATOS AGUA", "CONTRATOS DRENAJE", "INSPECCION", "INSTALACION"}
    name_at, status_at = lines[header].index("Indicador"), lines[header].index("Estado")
    for line in body:  # every row's name and status start under their headers
        assert line[name_at:].split("  ")[0] in names
        assert line[status_at:] in labels
    agua = next(line for line in body if "CONTRATOS AGUA" in line)
    assert "103.33%" in agua and "33.06%" in agua and "Arriba de la meta" in agua
    assert any("773.5" in line for line in body)
    assert "Sin reportar:" in lines
    assert any("CONTRATOS DRENAJE" in line and "Ana López" in line and "(vencido)" in line
               for line in lines)


def test_unit_filter_and_every_period_form(cli, small):
    for text, period in (("2023-03", "2023-03"), ("mar-23", "2023-03"),
                         ("2023-Q1", "2023-Q1"), ("2023-S1", "2023-S1"), ("2023", "2023")):
        code, out, _err = cli("resumen", "--period", text, "--unit", "305", "--format", "csv")
        assert code == 0
        rows = _csv(out)
        assert {row["unidad_clave"] for row in rows} == {"305"}
        assert {row["periodo"] for row in rows} == {period}


def test_bad_period_unknown_unit_and_empty_catalog(cli, small):
    code, out, err = cli("resumen", "--period", "marzo-treinta")
    assert code == 2 and out == ""
    assert "Periodo no válido" in err and "2023-Q1" in err and "mar-23" in err
    code, out, err = cli("resumen", "--period", "2023-03", "--unit", "999")
    assert code == 2 and "No existe la unidad «999»" in err
    code, out, err = cli("resumen", "--period", "2019-03")
    assert code == 1 and out == "" and "import-poa" in err


def _report_rows(path):
    """(clave, indicator) → list of (section period, meta, value, report's AVANCE %), read
    straight from the TSV, independently of the importer."""
    rows: dict[tuple[str, str], list[tuple[str, str, str, str, str]]] = {}
    section, clave = None, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in raw.split("\t")]
        if len([c for c in cells if c]) == 1:
            if cells[0] in ("ene-23", "feb-23", "mar-23", "PRIMER TRIMESTRE 2023"):
                section = cells[0]
            continue
        if len(cells) < 15 or cells[13] not in ("MENSUAL", "TRIMESTRAL", "SEMESTRAL"):
            continue
        clave = cells[2] or clave
        key = (clave, " ".join(cells[9].split()))
        rows.setdefault(key, []).append((section, cells[11], cells[14], cells[7], cells[6]))
    return rows


def _num(text: str) -> D:
    return D(text.replace(",", "").rstrip("%"))


def test_march_summary_matches_the_report(cli, seed_tsv):
    """The done criterion: every indicator's cumulative % against the report's own column
    AVANCE %/META ANUAL, within 0.02 points except where the report's arithmetic is wrong."""
    code, _out, err = cli("import-poa", str(seed_tsv))
    assert code == 0, err
    code, out, err = cli("resumen", "--period", "2023-03", "--format", "csv")
    assert code == 0, err
    ours = {(row["unidad_clave"], " ".join(row["indicador"].split())): row for row in _csv(out)}
    report = _report_rows(seed_tsv)
    assert len(report) == 24 and set(ours) == set(report)

    wrong_in_report = {}
    for key, occurrences in report.items():
        section, meta, _value, avance, absoluto = occurrences[-1]  # mar-23 / PRIMER TRIMESTRE
        assert section in ("mar-23", "PRIMER TRIMESTRE 2023") or len(occurrences) == 1
        # the report's rule recomputed from its own values: Σ ÷ (META × periods per year),
        # the periods per year following its AVANCE ABSOLUTO (8.33 % → 12, 25 % → 4, 50 % → 2)
        per_year = {"8.33%": 12, "25%": 4, "25.00%": 4, "50%": 2}[absoluto]
        values = [_num(v) for _s, _m, v, _a, _b in occurrences]
        share = values[-1] if meta.endswith("%") else None  # % indicators: the last value
        rule = share if share is not None else sum(values) * 100 / (_num(meta) * per_year)
        cumulative = D(ours[key]["avance_acumulado_pct"])
        assert abs(cumulative - rule) <= D("0.005"), key  # ours is the rule, rounded
        if abs(cumulative - _num(avance)) > D("0.02"):
            wrong_in_report[key[0] + " " + key[1]] = (_num(avance), cumulative)
    assert wrong_in_report == {
        "300 PROCESOS HOMOLOGADOS": (D(25), D("50.00")),
        "306 TOMA DE LECTURAS": (D("26.25"), D("26.28")),
        "306 ENTREGA DE RECIBOS": (D("26.25"), D("26.28")),
    }
