"""Reading the real POA report and damaged copies of it (TSV and .xlsx)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.domain.periods import Frequency, Period
from bot.poa_report import PoaFormatError, read_report
from bot.poa_report.checks import remark_breakdown, remark_leading_count
from bot.poa_report.reader import AGGREGATE_LAST, AGGREGATE_SUM

SEED_UNITS = {"300": 4, "303": 4, "304": 2, "305": 3, "306": 5, "307": 2, "308": 1,
              "309": 2, "315": 1}


@pytest.fixture
def seed_report(seed_tsv):
    return read_report(seed_tsv)


def rows_of(report, clave, nombre_start=""):
    return [r for r in report.rows if r.unit_clave == clave and r.nombre.startswith(nombre_start)]


def seed_lines(seed_tsv: Path) -> list[str]:
    return seed_tsv.read_text(encoding="utf-8").split("\n")


def write_lines(path: Path, lines: list[str], *, newline: str = "\n",
                encoding: str = "utf-8") -> Path:
    path.write_bytes(newline.join(lines).encode(encoding))
    return path


def line_with(lines: list[str], *fragments: str) -> int:
    """0-based index of the first line containing every fragment."""
    return next(i for i, line in enumerate(lines) if all(f in line for f in fragments))


def summary(report):
    """What the importer uses from a report, independent of where the rows came from."""
    return [(r.key, r.period, r.frequency, r.value, r.meta, r.aggregation, r.avance_pct,
             r.observaciones, r.linea, r.objetivo, r.comentarios, r.section.eje)
            for r in report.rows]


# --- the real report --------------------------------------------------------------------

def test_seed_has_24_distinct_indicators_in_the_units_of_the_report(seed_report):
    keys = seed_report.indicator_keys()
    assert len(keys) == 24
    per_unit = {}
    for clave, _accion, _nombre in keys:
        per_unit[clave] = per_unit.get(clave, 0) + 1
    assert per_unit == SEED_UNITS
    assert len(seed_report.sections) == 17
    assert len(seed_report.rows) == 52


def test_seed_periods_follow_the_sections_and_frequencies(seed_report):
    assert {p.code for p in seed_report.periods} == {
        "2023-01", "2023-02", "2023-03", "2023-Q1", "2023-S1"}
    for row in rows_of(seed_report, "303"):
        assert row.frequency is Frequency.MONTHLY and row.period.kind == "M"
    assert {r.period.code for r in rows_of(seed_report, "306", "INSPECCION")} == {
        "2023-01", "2023-02", "2023-03"}
    assert {r.period.code for r in rows_of(seed_report, "307")} == {"2023-Q1"}
    # 300's semiannual indicator sits in a quarterly section: its value is the half-year's.
    (homologados,) = rows_of(seed_report, "300", "PROCESOS HOMOLOGADOS")
    assert homologados.section.period == Period.quarter(2023, 1)
    assert homologados.frequency is Frequency.SEMIANNUAL
    assert homologados.period == Period.half(2023, 1)
    # 315 says MENSUAL inside PRIMER TRIMESTRE with AVANCE ABSOLUTO 25 %: it is quarterly.
    (foraneas,) = rows_of(seed_report, "315")
    assert foraneas.declared_frequency is Frequency.MONTHLY
    assert foraneas.frequency is Frequency.QUARTERLY
    assert foraneas.period == Period.quarter(2023, 1)


def test_seed_continuation_rows_take_blank_cells_from_the_row_above(seed_report):
    (homologados,) = rows_of(seed_report, "300", "PROCESOS HOMOLOGADOS")
    # CLAVE and NOMBRE are blank on line 23; LÍNEA and OBJETIVO are its own.
    assert (homologados.unit_clave, homologados.unit_nombre) == ("300", "GERENTE COMERCIAL")
    assert homologados.linea == "653"
    assert homologados.objetivo.startswith("IMPULSAR UNA CONSISTENCIA")
    assert homologados.section.sub_eje == "GESTIÓN INTEGRAL DE LA CALIDAD"
    evaluacion = rows_of(seed_report, "300", "EVALUACION DE RESULTADOS")[0]
    assert evaluacion.linea == "654" and evaluacion.objetivo.startswith("IMPLEMENTAR")
    instalacion, inspeccion = rows_of(seed_report, "307")
    # 307's second row leaves ACCIONES OPERATIVAS (and its comments) blank: same action.
    assert inspeccion.accion == instalacion.accion
    assert inspeccion.comentarios == instalacion.comentarios != ""
    assert inspeccion.nombre == "INSPECCION DE MEDIDORES" != instalacion.nombre


def test_seed_numbers_are_exact_decimals_and_percentages_aggregate_last(seed_report):
    recibos = rows_of(seed_report, "303", "RECIBOS ENTREGADOS")
    assert [r.value for r in recibos] == [Decimal(255835), Decimal(255900), Decimal(255948)]
    inspeccion = rows_of(seed_report, "306", "INSPECCION")
    assert [r.value for r in inspeccion] == [Decimal("8.33"), Decimal("16.66"), Decimal("25.00")]
    assert {r.aggregation for r in inspeccion} == {AGGREGATE_LAST}
    assert {r.meta for r in inspeccion} == {Decimal("8.33")}
    assert rows_of(seed_report, "315")[0].meta == Decimal(120000)
    assert {r.aggregation for r in rows_of(seed_report, "303")} == {AGGREGATE_SUM}


def test_seed_keeps_the_meta_each_period_was_reported_against(seed_report):
    captura = rows_of(seed_report, "303", "CAPTURA")
    assert [(r.period.code, r.meta) for r in captura] == [
        ("2023-01", Decimal(255948)), ("2023-02", Decimal(255835)), ("2023-03", Decimal(255835))]


def test_seed_names_sharing_their_first_34_characters_stay_distinct(seed_report):
    names = {r.nombre for r in rows_of(seed_report, "305")}
    prefixes = {n[:34] for n in names}
    assert len(names) == 3 and len(prefixes) == 2


def test_seed_warnings_are_exactly_the_reports_contradictions(seed_report):
    found = [(w.line, w.message) for w in seed_report.warnings]
    expected = [
        (23, ["300 · PROCESOS HOMOLOGADOS", "2023-S1", "AVANCE %", "25.00%", "50.00%"]),
        (174, ["306 · RECONEXION", "2023-02", "98 reconexiones", "115"]),
        (199, ["306 · TOMA DE LECTURAS", "2023-03", "26.25%", "26.28%"]),
        (200, ["306 · ENTREGA DE RECIBOS", "2023-03", "26.25%", "26.28%"]),
        (361, ["315 · RECIBOS PAGADOS", "MENSUAL", "PRIMER TRIMESTRE 2023", "TRIMESTRAL"]),
        (361, ["315 · RECIBOS PAGADOS", "desglose", "140,638", "142,638"]),
    ]
    assert len(found) == len(expected), "\n".join(map(str, seed_report.warnings))
    for (line, message), (want_line, fragments) in zip(found, expected, strict=True):
        assert line == want_line
        for fragment in fragments:
            assert fragment in message, (fragment, message)


def test_remark_parsing():
    assert remark_leading_count("98 reconexiones del mes de febrero/23") == 98
    assert remark_leading_count("3209 toma de lecturas en el mes de enero/23") == 3209
    assert remark_leading_count("SE CUMPLIO LA META") is None
    assert remark_leading_count("8.33% de avance") is None
    assert remark_breakdown("770 cortes y reconexiones del mes de enero/23") is None
    items = remark_breakdown("MORELOS 32,925/ PERIFERICO 33,909/ MOVIL 681 /MAQUILADORA 317")
    assert items == [("MORELOS", Decimal(32925)), ("PERIFERICO", Decimal(33909)),
                     ("MOVIL", Decimal(681)), ("MAQUILADORA", Decimal(317))]


# --- what real exports contain ------------------------------------------------------------

@pytest.mark.parametrize("newline,encoding", [("\r\n", "utf-8"), ("\n", "utf-8-sig"),
                                              ("\r\n", "utf-16"), ("\n", "cp1252")])
def test_line_endings_and_encodings_read_the_same(tmp_path, seed_tsv, seed_report, newline,
                                                  encoding):
    copy = write_lines(tmp_path / "copia.tsv", seed_lines(seed_tsv), newline=newline,
                       encoding=encoding)
    report = read_report(copy)
    assert summary(report) == summary(seed_report)
    assert [(w.line, w.message) for w in report.warnings] == [
        (w.line, w.message) for w in seed_report.warnings]


def test_stray_spaces_and_unaccented_lowercase_headers(tmp_path, seed_tsv, seed_report):
    lines = []
    for line in seed_lines(seed_tsv):
        cells = line.split("\t")
        if cells[0] in ("LÍNEA DE ACCIÓN", "LINEA DE ACCION") or (
                len(cells) > 2 and cells[2] == "CLAVE"):
            cells = [c.replace("Í", "I").replace("Ó", "O").replace("Ñ", "N").lower()
                     for c in cells]
            cells = [f"  {c} " if c else c for c in cells]
        else:
            cells = [f" {c}  " if c and not c.startswith("PROGRAMA OPERATIVO") else c
                     for c in cells]
        lines.append("\t".join(cells))
    report = read_report(write_lines(tmp_path / "espacios.tsv", lines))
    assert summary(report) == summary(seed_report)


def test_columns_are_found_by_their_header_not_their_position(tmp_path, seed_tsv, seed_report):
    """Swap two columns (OBSERVACIONES before VALOR ACTUAL) everywhere, headers included."""
    lines = []
    for line in seed_lines(seed_tsv):
        cells = line.split("\t")
        if len(cells) == 16:
            cells[14], cells[15] = cells[15], cells[14]
        lines.append("\t".join(cells))
    report = read_report(write_lines(tmp_path / "orden.tsv", lines))
    assert summary(report) == summary(seed_report)


def test_empty_valor_actual_is_not_reported_never_zero(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "CONTRATOS NUEVOS A FRACCIONADORES", "\t79\t")
    cells = lines[index].split("\t")
    cells[14] = "  "
    lines[index] = "\t".join(cells)
    report = read_report(write_lines(tmp_path / "vacio.tsv", lines))
    row = next(r for r in report.rows if r.line == index + 1)
    assert row.value is None
    # The report's own cumulative figures now disagree: February's 9.05 % and March's
    # 15.38 % are checked against 84 and 84 + 114 (February counts as nothing reported).
    march = line_with(lines, "CONTRATOS NUEVOS A FRACCIONADORES", "\t114\t") + 1
    flagged = {w.line: w.message for w in report.warnings}
    assert "9.05%" in flagged[index + 1] and "4.67%" in flagged[index + 1]
    assert "15.38%" in flagged[march] and "11.00%" in flagged[march]


def test_text_in_valor_actual_names_line_and_column(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "INSPECCIONES REALIZADAS", "\t130\t")
    lines[index] = lines[index].replace("\t130\t", "\tabc\t")
    with pytest.raises(PoaFormatError) as caught:
        read_report(write_lines(tmp_path / "texto.tsv", lines))
    assert caught.value.line == index + 1
    assert caught.value.column == "VALOR ACTUAL"
    assert str(caught.value) == f"línea {index + 1}, columna VALOR ACTUAL: «abc» no es un número"


def test_non_numeric_meta_and_unknown_frequency(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "RECIBOS PAGADOS")
    bad_meta = list(lines)
    bad_meta[index] = bad_meta[index].replace("\t120,000\t", "\tciento veinte mil\t")
    with pytest.raises(PoaFormatError, match=rf"línea {index + 1}, columna META: "):
        read_report(write_lines(tmp_path / "meta.tsv", bad_meta))
    bad_freq = list(lines)
    bad_freq[index] = bad_freq[index].replace("\tMENSUAL\t", "\tQUINCENAL\t")
    with pytest.raises(PoaFormatError, match=r"FRECUENCIA DE MEDICIÓN: frecuencia desconocida"):
        read_report(write_lines(tmp_path / "frecuencia.tsv", bad_freq))


def test_truncated_row_is_an_error(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "TOMA DE LECTURAS A DOMICILIO", "\t255,900\t")
    lines[index] = "\t".join(lines[index].split("\t")[:10])
    with pytest.raises(PoaFormatError) as caught:
        read_report(write_lines(tmp_path / "corta.tsv", lines))
    assert caught.value.line == index + 1
    assert "incompleta" in str(caught.value) and "10 columnas" in str(caught.value)


def test_data_before_any_header_and_missing_period_are_errors(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    first_data = line_with(lines, "\t300\tGERENTE COMERCIAL")
    early = [lines[first_data], *lines]
    with pytest.raises(PoaFormatError, match=r"^línea 1: hay datos antes del encabezado"):
        read_report(write_lines(tmp_path / "antes.tsv", early))
    no_period = [line for line in lines if line != "PRIMER TRIMESTRE 2023"]
    with pytest.raises(PoaFormatError, match=r"falta la línea del periodo"):
        read_report(write_lines(tmp_path / "sinperiodo.tsv", no_period))


def test_a_file_without_rows_or_of_unknown_format(tmp_path):
    with pytest.raises(PoaFormatError, match="no contiene filas"):
        read_report(write_lines(tmp_path / "vacio.tsv", ["", "hola"]))
    with pytest.raises(PoaFormatError, match="formato no reconocido"):
        read_report(write_lines(tmp_path / "reporte.pdf", ["%PDF"]))


# --- the workbook itself --------------------------------------------------------------------

_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_INTEGER = re.compile(r"^\d{1,3}(?:,\d{3})*$|^\d+$")


def _typed_cell(ws, row: int, column: int, text: str) -> None:
    """Write a cell as Excel would hold it: numbers, percent-formatted fractions, dates."""
    if m := _PERCENT.match(text):
        cell = ws.cell(row=row, column=column, value=float(m[1]) / 100)
        cell.number_format = "0.00%"
    elif _INTEGER.match(text):
        ws.cell(row=row, column=column, value=int(text.replace(",", "")))
    elif re.fullmatch(r"(ene|feb|mar)-23", text):
        month = ("ene", "feb", "mar").index(text[:3]) + 1
        ws.cell(row=row, column=column, value=datetime(2023, month, 1)).number_format = "mmm-yy"
    elif text:
        ws.cell(row=row, column=column, value=text)


def build_workbook(path: Path, lines: list[str], *, sheets: int = 1) -> Path:
    """The seed's rows in a workbook, split at section titles over ``sheets`` sheets."""
    starts = [i for i, line in enumerate(lines) if line == "PROGRAMA OPERATIVO ANUAL 2023"]
    per_sheet = -(-len(starts) // sheets)
    cuts = [0] + [starts[k] for k in range(per_sheet, len(starts), per_sheet)] + [len(lines)]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for n, (begin, end) in enumerate(itertools.pairwise(cuts), start=1):
        ws = workbook.create_sheet(f"Hoja{n}")
        for offset, line in enumerate(lines[begin:end], start=1):
            for column, text in enumerate(line.split("\t"), start=1):
                _typed_cell(ws, offset, column, text)
    workbook.save(path)
    return path


@pytest.mark.parametrize("sheets", [1, 4])
def test_xlsx_gives_the_same_report_as_the_tsv(tmp_path, seed_tsv, seed_report, sheets):
    workbook = build_workbook(tmp_path / "poa.xlsx", seed_lines(seed_tsv), sheets=sheets)
    report = read_report(workbook)
    assert summary(report) == summary(seed_report)
    assert [w.message for w in report.warnings] == [w.message for w in seed_report.warnings]
    if sheets == 1:
        assert [w.line for w in report.warnings] == [w.line for w in seed_report.warnings]
        assert {w.sheet for w in report.warnings} == {"Hoja1"}
    else:
        assert len({r.sheet for r in report.rows}) == 4


def test_xlsx_error_names_the_sheet_and_row(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "INSPECCIONES REALIZADAS", "\t130\t")
    lines[index] = lines[index].replace("\t130\t", "\tN/D\t")
    workbook = build_workbook(tmp_path / "malo.xlsx", lines)
    with pytest.raises(PoaFormatError, match=rf"^hoja «Hoja1», fila {index + 1}, "
                                             r"columna VALOR ACTUAL: «N/D» no es un número"):
        read_report(workbook)


def test_comma_separated_save_reads_the_same(tmp_path, seed_tsv, seed_report):
    import csv

    path = tmp_path / "poa.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for line in seed_lines(seed_tsv):
            writer.writerow(line.split("\t") if line else [])
    assert summary(read_report(path)) == summary(seed_report)


def test_workbook_cells_become_the_text_the_workbook_shows():
    from bot.poa_report.sources import cell_text

    assert cell_text(0.0833, "0.00%") == "8.33%"
    assert cell_text(1, "0%") == "100%"
    assert cell_text(255835.0, "#,##0") == "255835"
    assert cell_text(0.1 + 0.2, "General") == "0.3"  # binary noise rounded to 3 decimals
    assert cell_text(datetime(2023, 3, 1), "mmm-yy") == "mar-23"
    assert cell_text(None) == ""


# --- hostile cells (issue 9) -------------------------------------------------------------

@pytest.mark.parametrize("look_alike", ["３０３", "303\u200b", "\u200b303", "30\u20603",
                                        "303\u00a0", "\ufeff303", "30\u00ad3"])
def test_look_alike_claves_are_the_plain_clave(tmp_path, seed_tsv, seed_report, look_alike):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "\t303\t")
    lines[index] = lines[index].replace("\t303\t", f"\t{look_alike}\t", 1)
    report = read_report(write_lines(tmp_path / "r.tsv", lines))
    assert {r.unit_clave for r in report.rows} == {r.unit_clave for r in seed_report.rows}
    assert len(rows_of(report, "303")) == len(rows_of(seed_report, "303"))
    assert summary(report) == summary(seed_report)


def test_format_characters_are_removed_from_text_cells(tmp_path, seed_tsv, seed_report):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "RECIBOS ENTREGADOS A DOMICILIO")
    lines[index] = lines[index].replace("RECIBOS ENTREGADOS", "RECIBOS\u200b ENTREGADOS\u2060")
    report = read_report(write_lines(tmp_path / "r.tsv", lines))
    assert summary(report) == summary(seed_report)
    assert any(r.nombre == "RECIBOS ENTREGADOS A DOMICILIO" and r.line == index + 1
               for r in report.rows)


def test_a_clave_of_other_digits_is_refused_with_line_and_column(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "\t303\t")
    lines[index] = lines[index].replace("\t303\t", "\t٣٠٣\t", 1)  # Arabic-Indic digits
    with pytest.raises(PoaFormatError) as error:
        read_report(write_lines(tmp_path / "r.tsv", lines))
    assert str(error.value).startswith(f"línea {index + 1}, columna CLAVE: la clave «٣٠٣»")


@pytest.mark.parametrize(("char", "code"), [("\x00", "0000"), ("\x07", "0007"),
                                            ("\x1b", "001B"), ("\x85", "0085")])
def test_control_characters_are_refused_with_line_and_column(tmp_path, seed_tsv, char, code):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "\t3797\t3797 toma")
    lines[index] = lines[index].replace("3797 toma", f"3797{char} toma")
    with pytest.raises(PoaFormatError) as error:
        read_report(write_lines(tmp_path / "r.tsv", lines))
    assert str(error.value) == (f"línea {index + 1}, columna OBSERVACIONES: la celda tiene un "
                                f"carácter de control invisible (U+{code}); bórralo y vuelve a "
                                "guardar el archivo")


def test_control_character_in_a_header_line_names_the_column_letter(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "GERENCIA COMERCIAL")
    lines[index] = lines[index].replace("GERENCIA", "GEREN\x00CIA")
    with pytest.raises(PoaFormatError, match=rf"^línea {index + 1}, columna A: .*U\+0000"):
        read_report(write_lines(tmp_path / "r.tsv", lines))


def test_tabs_and_line_breaks_inside_a_remark_are_kept(tmp_path, seed_tsv):
    lines = seed_lines(seed_tsv)
    index = line_with(lines, "\t3797\t3797 toma")
    lines[index] = lines[index].replace("3797 toma", '"3797\nsegunda  línea"\t').replace(
        '"3797\nsegunda  línea"\t', '"3797\nsegunda  línea toma"', 1)
    report = read_report(write_lines(tmp_path / "r.tsv", lines))
    (row,) = [r for r in report.rows if r.line == index + 1]
    assert row.observaciones.startswith("3797\nsegunda  línea toma")


HUGE_XLSX_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (400 * 2**20, 400 * 2**20))
from bot.poa_report import PoaFormatError, read_report
try:
    report = read_report(sys.argv[1])
    print("READ", len(report.rows), sum(r.value or 0 for r in report.rows))
except PoaFormatError as exc:
    print("REFUSED", exc)
except MemoryError:
    print("OUT OF MEMORY")
"""


def read_with_memory_limit(path: Path) -> str:
    """What reading ``path`` prints in a child process limited to 400 MB of address space
    (so a regression cannot exhaust the machine running the tests)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HUGE_XLSX_SCRIPT, str(path)],
                          capture_output=True, text=True, timeout=300)
    return done.stdout.strip() or done.stderr[-2000:]


def test_a_workbook_whose_used_range_is_huge_is_read_in_bounded_memory(tmp_path):
    """A ~5 KB file with cells A1 and XFD1048576 (used range: the whole sheet): openpyxl
    pads every row of the stored dimension."""
    workbook = Workbook()
    workbook.active["A1"] = "PROGRAMA OPERATIVO ANUAL 2023"
    workbook.active["XFD1048576"] = "x"
    path = tmp_path / "enorme.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000
    assert read_with_memory_limit(path) == (
        "REFUSED hoja «Sheet», fila 1048576, columna XFD: hay datos fuera del reporte (más "
        "allá de la columna BL); bórralos o copia solo la tabla del reporte a un libro nuevo")


def test_a_huge_stored_used_range_with_only_the_report_in_it_reads_normally(
        tmp_path, seed_tsv, seed_report):
    path = build_workbook(tmp_path / "r.xlsx", seed_lines(seed_tsv))
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook.active["XFD1048576"] = None  # nothing there, but the dimension says so
    workbook.active["BL1048576"] = " "  # blank text far below: skipped, not refused
    workbook.save(path)
    assert workbook.active.dimensions.endswith(":XFD1048576")
    values = sum(r.value or 0 for r in seed_report.rows)
    assert read_with_memory_limit(path) == f"READ {len(seed_report.rows)} {values}"


def test_reader_and_checks_do_not_import_each_other():
    """No import cycle inside bot/poa_report (also none hidden in a function body)."""
    import ast

    package = Path(__file__).resolve().parents[1] / "bot" / "poa_report"
    graph = {}
    for module in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "bot.poa_report."):
                imported.add(node.module.rsplit(".", 1)[1])
        graph[module.stem] = imported

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n)))
                   for n in graph.get(start, ()))

    assert graph["reader"] >= {"checks", "model"}
    assert [m for m in graph if reaches(m, m)] == []
