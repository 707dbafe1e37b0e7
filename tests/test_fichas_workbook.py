"""``poa-bot fichas export|import``: the template round-trips, bad cells refuse the file."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.domain.periods import Frequency
from storage.models import Ficha, Indicator, ProgrammedMeta
from tests.test_summary import Catalog

YEAR = 2099  # every period in the future: calendarised metas may be set by import


@pytest.fixture
def catalog(db):
    with db.session() as s:
        c = Catalog(s)
        monthly = c.indicator("303", "RECIBOS", 100, year=YEAR, position=0)
        quarterly = c.indicator("303", "INSPECCIONES", 30, Frequency.QUARTERLY, year=YEAR,
                                position=1)
        c.indicator("306", "INSPECCION", "8.33", aggregation="last", unidad="%", year=YEAR)
        return {"monthly": monthly.id, "quarterly": quarterly.id}


def _rows(db):
    with db.session() as s:
        fichas = [(f.indicator_id, f.sentido, f.verde_max) for f in s.exec(select(Ficha))]
        metas = sorted((m.indicator_id, m.period, m.meta) for m in s.exec(select(ProgrammedMeta)))
        names = sorted((i.id, i.short_name) for i in s.exec(select(Indicator)))
    return fichas, metas, names


def test_export_then_import_changes_nothing(cli, db, catalog, tmp_path):
    out = tmp_path / "fichas.xlsx"
    code, stdout, _ = cli("fichas", "export", "--year", str(YEAR), "--out", str(out))
    assert code == 0 and "3 fichas" in stdout
    book = load_workbook(out)
    header = [c.value for c in book["Fichas"][1]]
    assert header[:7] == ["unidad", "id", "nombre", "nombre_corto", "frecuencia", "sentido",
                          "acumulacion"]
    share = [row for row in book["Fichas"].iter_rows(values_only=True) if row[2] == "INSPECCION"]
    assert share[0][5:7] == ("ascendente", "acumulado")  # today's rules, filled in
    metas = {row[2]: row for row in book["Metas"].iter_rows(min_row=2, values_only=True)}
    assert metas["INSPECCIONES"][4:8] == (30, 30, 30, 30) and metas["INSPECCIONES"][8] is None
    before = _rows(db)
    code, stdout, stderr = cli("fichas", "import", str(out))
    assert code == 0 and "Sin cambios" in stdout, stderr
    assert _rows(db) == before == ([], [], before[2])


def test_edited_template_imports_and_round_trips(cli, db, catalog, tmp_path):
    out = tmp_path / "fichas.xlsx"
    cli("fichas", "export", "--year", str(YEAR), "--out", str(out))
    book = load_workbook(out)
    fichas, metas = book["Fichas"], book["Metas"]
    for row in fichas.iter_rows(min_row=2):
        if row[1].value == catalog["monthly"]:
            row[3].value = "Recibos"
            row[5].value, row[11].value, row[12].value = "regular", 95, 85
            row[13].value, row[14].value = 105, 115
            row[10].value = "sí"
    for row in metas.iter_rows(min_row=2):
        if row[1].value == catalog["monthly"]:
            row[4].value, row[5].value = 400, 350  # a busy January and February
    book.save(out)

    code, stdout, _ = cli("fichas", "import", str(out), "--dry-run")
    assert code == 0 and "Cambiaría" in stdout and "no guardé nada" in stdout
    assert _rows(db)[:2] == ([], [])
    code, stdout, _ = cli("fichas", "import", str(out))
    assert code == 0 and "Cambié 4 dato(s)" in stdout
    fichas_rows, meta_rows, names = _rows(db)
    assert fichas_rows == [(catalog["monthly"], "regular", D(105))]
    assert meta_rows == [(catalog["monthly"], f"{YEAR}-01", D(400)),
                         (catalog["monthly"], f"{YEAR}-02", D(350))]
    assert (catalog["monthly"], "Recibos") in names
    # Import again, and export-then-import: nothing changes.
    assert "Sin cambios" in cli("fichas", "import", str(out))[1]
    again = tmp_path / "again.xlsx"
    cli("fichas", "export", "--year", str(YEAR), "--out", str(again))
    assert "Sin cambios" in cli("fichas", "import", str(again))[1]
    assert _rows(db) == (fichas_rows, meta_rows, names)


def test_bad_cells_refuse_the_whole_file_with_sheet_row_and_column(cli, db, catalog, tmp_path):
    out = tmp_path / "fichas.xlsx"
    cli("fichas", "export", "--year", str(YEAR), "--out", str(out))
    book = load_workbook(out)
    fichas = book["Fichas"]
    fichas["F2"].value = "mejor"  # not a sentido
    fichas["L3"].value = 70  # green below yellow (80)
    fichas["C4"].value = "renamed"  # a read-only column: ignored
    fichas["G4"].value = "suma"  # a valid change on another row: not written either
    book["Metas"]["I3"].value = 5  # P5 of the quarterly indicator
    book["Metas"]["E2"].value = "mucho"
    book.save(out)
    code, _, stderr = cli("fichas", "import", str(out))
    assert code == 2 and "no importé nada" in stderr
    assert "Fichas, fila 2, columna F (sentido): «mejor»" in stderr
    assert "Fichas, fila 3, columna L (verde_min)" in stderr
    assert "Metas, fila 2, columna E (P1): «mucho» no es un número" in stderr
    assert "Metas, fila 3, columna I (P5): el indicador tiene 4 periodo(s)" in stderr
    assert _rows(db)[:2] == ([], [])


def test_a_started_period_is_a_reprogramacion_not_an_import(cli, db, tmp_path):
    with db.session() as s:
        Catalog(s).indicator("303", "RECIBOS", 100, year=2023)
    out = tmp_path / "fichas.xlsx"
    cli("fichas", "export", "--year", "2023", "--out", str(out))
    book = load_workbook(out)
    book["Metas"]["E2"].value = 500
    book.save(out)
    code, _, stderr = cli("fichas", "import", str(out))
    assert code == 2 and "Metas, fila 2, columna E (P1)" in stderr and "/reprogramar" in stderr
