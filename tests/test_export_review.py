"""Issue 12 in the export: with POA_APPROVAL_REQUIRED the workbook's second sheet «Revisión»
shows each unit's state per section period (capturando, enviado, aprobado, devuelto), who
and when, and the comment; re-importing the workbook changes nothing; without the setting,
and in the CSV, there is no such sheet."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.cli import main as cli_main
from bot.domain.periods import period_from_code
from bot.poa_report.reader import read_report
from bot.poa_report.sources import REVIEW_SHEET
from bot.poa_report.writer import text_bytes
from bot.poa_report.xlsx import write_report, xlsx_bytes
from bot.services.export import build_report
from bot.services.importer import import_report
from storage.models import Person, UnitPeriodApproval
from tests.test_summary import Catalog

TODAY = datetime(2023, 4, 12).date()
ZONE = ZoneInfo("America/Matamoros")
APPROVED_AT = datetime(2023, 4, 6, 16, 30, tzinfo=UTC)
RETURNED_AT = datetime(2023, 3, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def reviewed(db):
    with db.session() as s:
        c = Catalog(s)
        for clave in ("920", "921"):
            ind = c.indicator(clave, f"IND {clave}", 10, position=1)
            for code in ("2023-01", "2023-02", "2023-03"):
                c.value(ind, code, 10)
        gera = Person(name="Gera <b>", role="gerente", active=True, created_at=APPROVED_AT)
        s.add(gera)
        s.flush()
        s.add(UnitPeriodApproval(unit_id=c.unit("920").id, period="2023-03", state="aprobado",
                                 changed_by_id=gera.id, changed_at=APPROVED_AT))
        s.add(UnitPeriodApproval(unit_id=c.unit("921").id, period="2023-02", state="devuelto",
                                 comment="=1+1 falta el acta", changed_by_id=gera.id,
                                 changed_at=RETURNED_AT))
        s.flush()


def _review_sheet(document) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(xlsx_bytes(document)))
    assert workbook.sheetnames == ["POA 2023-Q1", REVIEW_SHEET]
    sheet = workbook[REVIEW_SHEET]
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_review_sheet_lists_each_units_state_per_period(db, reviewed):
    document = db.call(build_report, period_from_code("2023-Q1"), today=TODAY,
                       approval_required=True, timezone=ZONE)
    rows = _review_sheet(document)
    assert rows[0] == ("CLAVE", "UNIDAD RESPONSABLE", "PERIODO", "ESTADO", "QUIÉN", "CUÁNDO",
                       "COMENTARIO")
    by_key = {(row[0], row[2]): row for row in rows[1:]}
    # Every unit × section period: the three months (monthly indicators only).
    assert sorted(by_key) == [(clave, month) for clave in ("920", "921")
                              for month in ("ene-23", "feb-23", "mar-23")]
    approved = by_key[("920", "mar-23")]
    assert approved[3:6] == ("aprobado", "Gera <b>",
                             APPROVED_AT.astimezone(ZONE).replace(tzinfo=None))
    returned = by_key[("921", "feb-23")]
    assert (returned[3], returned[6]) == ("devuelto", "=1+1 falta el acta")
    assert by_key[("920", "ene-23")][3:] == ("capturando", None, None, None)
    # A comment that looks like a formula stays text.
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document)))[REVIEW_SHEET]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_reimporting_the_workbook_with_its_review_sheet_changes_nothing(db, reviewed,
                                                                        tmp_path):
    out = tmp_path / "poa.xlsx"
    write_report(db.call(build_report, period_from_code("2023-Q1"), today=TODAY,
                         approval_required=True, timezone=ZONE), out)
    report = read_report(out)
    assert {row.sheet for row in report.rows} == {"POA 2023-Q1"}
    result = db.call(import_report, report)
    assert (result.values_new, result.values_changed, result.indicators_updated,
            result.remarks_new) == (0, 0, 0, 0)
    assert result.values_unchanged == 6 and not result.warnings


def test_no_review_sheet_without_approval_nor_in_the_csv(db, reviewed):
    plain = db.call(build_report, period_from_code("2023-Q1"), today=TODAY)
    assert plain.review == ()
    assert load_workbook(io.BytesIO(xlsx_bytes(plain))).sheetnames == ["POA 2023-Q1"]
    reviewed_doc = db.call(build_report, period_from_code("2023-Q1"), today=TODAY,
                           approval_required=True)
    text = text_bytes(reviewed_doc).decode("utf-8-sig")
    assert text == text_bytes(plain).decode("utf-8-sig")  # the CSV is the report only
    assert "aprobado" not in text and "CUÁNDO" not in text


def test_cli_export_adds_the_review_sheet_when_approval_is_required(
        db, reviewed, database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POA_APPROVAL_REQUIRED", "1")
    out = tmp_path / "t1.xlsx"
    assert cli_main(["export", "--period", "2023-T1", "--out", str(out)]) == 0
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["POA 2023-Q1", REVIEW_SHEET]
    states = {(row[0].value, row[2].value): row[3].value
              for row in workbook[REVIEW_SHEET].iter_rows(min_row=2)}
    assert states[("920", "mar-23")] == "aprobado"
    monkeypatch.setenv("POA_APPROVAL_REQUIRED", "0")
    assert cli_main(["export", "--period", "2023-T1", "--out", str(out)]) == 0
    assert load_workbook(out).sheetnames == ["POA 2023-Q1"]
