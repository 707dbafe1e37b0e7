"""The structure of the POA report: sections, header rows, data rows, continuation cells.

A report is a run of sections. Each opens with ``PROGRAMA OPERATIVO ANUAL 2023``, the area
(``GERENCIA COMERCIAL``), a period line (``ene-23``, ``PRIMER TRIMESTRE 2023``) and the plan
headings (``EJE DE DESARROLLO: …``), then two header rows and the data rows. Headers are
recognised by their words, ignoring accents, case and spacing, and the column of every field
is taken from them. Blank cells in the first five columns repeat the row above (they are
merged cells in the workbook). Anything malformed raises :class:`PoaFormatError` naming the
line and the column, before anything is written.

One file (past 400 lines) because it is one grammar: the parser's states (preamble, header
rows, data rows, continuation) and the helpers that recognise each line belong together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bot.domain.numbers import NumberError, format_percent, parse_number
from bot.domain.periods import Frequency, Period, PeriodError, parse_period
from bot.poa_report.checks import check_report
from bot.poa_report.model import (
    AGGREGATE_LAST,
    AGGREGATE_SUM,
    CONTROL,
    ImportWarning,
    PoaFormatError,
    PoaReport,
    PoaRow,
    Section,
    clean,
    code_text,
    norm,
)
from bot.poa_report.sources import RawRow, SourceError, read_raw_rows

__all__ = ["AGGREGATE_LAST", "AGGREGATE_SUM", "FIELD_LABELS", "ImportWarning", "PoaFormatError",
           "PoaReport", "PoaRow", "Section", "clean", "norm", "read_report", "read_rows"]

FIELD_LABELS = {
    "linea": "LÍNEA DE ACCIÓN",
    "objetivo": "OBJETIVO",
    "clave": "CLAVE",
    "unit_nombre": "NOMBRE (UNIDAD RESPONSABLE)",
    "accion": "ACCIONES OPERATIVAS",
    "meta_anual": "META ANUAL",
    "avance_absoluto": "AVANCE ABSOLUTO",
    "avance_pct": "AVANCE %/ META ANUAL",
    "comentarios": "COMENTARIOS",
    "nombre": "NOMBRE (INDICADOR)",
    "descripcion": "DESCRIPCIÓN",
    "meta": "META",
    "unidad_medida": "UNIDAD MEDIDA",
    "frecuencia": "FRECUENCIA DE MEDICIÓN",
    "valor": "VALOR ACTUAL",
    "observaciones": "OBSERVACIONES",
}
# Cells that hold a code or a figure: NFKC-normalised (full-width digits are digits).
CODE_COLUMNS = frozenset({"linea", "clave", "meta_anual", "avance_absoluto", "avance_pct",
                          "meta", "frecuencia", "valor"})
# Free text kept as written (inner line breaks and spacing), so what the bot stored and the
# export wrote comes back identical; only the ends are trimmed.
VERBATIM_COLUMNS = frozenset({"observaciones"})
# The longest text the database keeps in these fields (storage/models.py).
MAX_LENGTHS = {"linea": 20, "clave": 20, "unit_nombre": 255, "unidad_medida": 120}
_HEADING_MAX = 500
_CLAVE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]*")
REQUIRED_COLUMNS = ("clave", "accion", "nombre", "meta", "frecuencia", "valor")
# Cells a data row must reach; VALOR ACTUAL and OBSERVACIONES may be cut off when empty.
_MUST_REACH = ("clave", "accion", "nombre", "meta", "frecuencia")
_HEADING_KEYS = {"EJE DE DESARROLLO": "eje", "PROGRAMA DE DESARROLLO": "programa",
                 "SUB EJE": "sub_eje", "SUBEJE": "sub_eje", "TRANSVERSALIDAD": "transversalidad"}


# --- entry points -------------------------------------------------------------------------

def read_report(path: str | Path) -> PoaReport:
    """Read a report file and check its arithmetic; raises :class:`PoaFormatError`."""
    path = Path(path)
    try:
        raw = read_raw_rows(path)
    except SourceError as exc:
        raise PoaFormatError(0, None, str(exc)) from exc
    report = read_rows(raw, source=path.name)
    report.warnings.extend(check_report(report))
    report.warnings.sort(key=lambda w: (w.sheet or "", w.line))
    return report


def read_rows(raw_rows: list[RawRow], *, source: str = "") -> PoaReport:
    """Parse raw rows into a report (no arithmetic checks)."""
    parser = _Parser(PoaReport(source=source))
    parser.feed(raw_rows)
    if not parser.report.rows:
        raise PoaFormatError(0, None, "el archivo no contiene filas de indicadores; "
                             "¿es el reporte POA exportado del libro?")
    return parser.report


# --- the parser ---------------------------------------------------------------------------

@dataclass
class _SectionDraft:
    line: int
    sheet: str | None
    title: str = ""
    area: str = ""
    period: Period | None = None
    headings: dict[str, str] = field(default_factory=dict)
    columns: dict[str, int] | None = None
    kinds: dict[int, str] = field(default_factory=dict)  # column → code | verbatim | text
    width: int = 0
    built: Section | None = None

    def section(self) -> Section:
        if self.built is None:
            assert self.period is not None
            self.built = Section(line=self.line, period=self.period, title=self.title,
                                 area=self.area, sheet=self.sheet, **self.headings)
        return self.built


class _Parser:
    def __init__(self, report: PoaReport):
        self.report = report
        self.draft: _SectionDraft | None = None
        self.previous: dict[str, str] | None = None  # resolved cells of the row above
        self.last_section: Section | None = None
        self.section_ids: set[int] = set()  # sections already listed (built once per draft)

    def feed(self, raw_rows: list[RawRow]) -> None:
        index = 0
        sheet = object()
        while index < len(raw_rows):
            raw = raw_rows[index]
            index += 1
            if raw.sheet != sheet:  # every sheet brings its own headers
                sheet = raw.sheet
                if self.draft is not None:
                    self.draft.columns = None
            if raw.is_blank:
                continue
            self._refuse_control_characters(raw)
            filled = [cell for cell in raw.cells if cell.strip()]
            if _is_header(raw.cells):
                sub = raw_rows[index] if index < len(raw_rows) else None
                if sub is not None and sub.sheet == raw.sheet and _is_sub_header(sub.cells):
                    index += 1
                self._start_table(raw, sub if sub and _is_sub_header(sub.cells) else None)
            elif len(filled) == 1 and self._single_text(raw, clean(filled[0])):
                continue
            elif self.draft is None or self.draft.columns is None:
                raise PoaFormatError(raw.line, None, "hay datos antes del encabezado de la "
                                     "tabla (LÍNEA DE ACCIÓN, OBJETIVO, UNIDAD RESPONSABLE…)",
                                     raw.sheet)
            else:
                self._data_row(raw)

    def _refuse_control_characters(self, raw: RawRow) -> None:
        """NUL and other control characters (tab and line breaks aside) mean nothing in a
        report; PostgreSQL refuses NUL in text and the workbook refuses most of them."""
        for index, cell in enumerate(raw.cells):
            if (match := CONTROL.search(cell)) is not None:
                raise PoaFormatError(
                    raw.line, self._column_name(index),
                    f"la celda tiene un carácter de control invisible (U+{ord(match[0]):04X}); "
                    "bórralo y vuelve a guardar el archivo", raw.sheet)

    def _column_name(self, index: int) -> str:
        """The header's name of column ``index`` when known, else its letter (A, B, … AA)."""
        columns = self.draft.columns if self.draft is not None else None
        for name, position in (columns or {}).items():
            if position == index:
                return FIELD_LABELS[name]
        return column_letter(index)

    # -- section preamble --------------------------------------------------------------
    def _single_text(self, raw: RawRow, text: str) -> bool:
        """Handle a one-cell line (title, area, period, heading); False if it is data."""
        key = norm(text)
        in_table = self.draft is not None and self.draft.columns is not None
        if key.startswith("PROGRAMA OPERATIVO ANUAL"):
            self.draft = _SectionDraft(raw.line, raw.sheet, title=text)
            return True
        heading = _heading(text)
        period = None if heading else _period_line(text, self._title_year())
        if heading is None and period is None:
            if in_table:
                return False  # a nearly empty data row: let the row parser explain it
            if self.draft is None:
                return True  # text above the first section (a cover line): not ours
            if not self.draft.area:
                self.draft.area = text
            return True
        if self.draft is None or in_table or (period and self.draft.period is not None):
            # A new section that did not repeat the title: keep the title and area.
            old = self.draft
            self.draft = _SectionDraft(raw.line, raw.sheet, title=old.title if old else "",
                                       area=old.area if old else "")
        if heading:
            if len(heading[1]) > _HEADING_MAX:
                raise PoaFormatError(raw.line, None, f"el encabezado «{text[:40]}…» pasa de "
                                     f"{_HEADING_MAX} caracteres", raw.sheet)
            self.draft.headings[heading[0]] = heading[1]
        else:
            self.draft.period = period
            title_year = self._title_year()
            if title_year and period.year != title_year:
                self.report.warnings.append(ImportWarning(
                    raw.line, f"el periodo «{text}» no es del año del título "
                    f"«{self.draft.title}»", raw.sheet))
        return True

    def _title_year(self) -> int | None:
        if self.draft and (m := re.search(r"(\d{4})\s*$", self.draft.title)):
            return int(m[1])
        return None

    # -- header rows -------------------------------------------------------------------
    def _start_table(self, top: RawRow, sub: RawRow | None) -> None:
        if self.draft is None or self.draft.period is None:
            raise PoaFormatError(top.line, None, "falta la línea del periodo (p. ej. «ene-23» "
                                 "o «PRIMER TRIMESTRE 2023») antes del encabezado", top.sheet)
        columns = _columns(top.cells, sub.cells if sub else ())
        missing = [FIELD_LABELS[f] for f in REQUIRED_COLUMNS if f not in columns]
        if missing:
            raise PoaFormatError(top.line, None, "el encabezado no tiene la(s) columna(s) "
                                 + ", ".join(missing), top.sheet)
        self.draft.columns = columns
        self.draft.kinds = {index: ("code" if name in CODE_COLUMNS else
                                    "verbatim" if name in VERBATIM_COLUMNS else "text")
                            for name, index in columns.items()}
        self.draft.width = max(columns.values()) + 1
        self.previous = None

    # -- data rows ---------------------------------------------------------------------
    def _data_row(self, raw: RawRow) -> None:
        draft = self.draft
        assert draft is not None and draft.columns is not None
        columns = draft.columns
        kinds = draft.kinds
        cells = [_tidy(c, kinds.get(index)) for index, c in enumerate(raw.cells)]
        for name in _MUST_REACH:
            if columns[name] >= len(cells):
                raise PoaFormatError(
                    raw.line, FIELD_LABELS[name],
                    f"la fila está incompleta: tiene {len(cells)} columnas y el encabezado "
                    f"{draft.width}", raw.sheet)
        cells += [""] * (draft.width - len(cells))

        def cell(name: str) -> str:
            return cells[columns[name]] if name in columns else ""

        def fail(name: str, message: str) -> PoaFormatError:
            return PoaFormatError(raw.line, FIELD_LABELS[name], message, raw.sheet)

        for name, limit in MAX_LENGTHS.items():
            if len(cell(name)) > limit:
                raise fail(name, f"«{cell(name)[:30]}…» pasa de {limit} caracteres")
        if cell("clave") and not _CLAVE.fullmatch(cell("clave")):
            raise fail("clave", f"la clave «{cell('clave')}» debe ser de letras y dígitos "
                       "(sin espacios ni símbolos parecidos a dígitos)")
        resolved = self._continue(cell, fail)
        nombre = cell("nombre")
        if not nombre:
            raise fail("nombre", "falta el nombre del indicador")
        meta = _number(cell("meta"), "meta", fail)
        if meta is None:
            raise fail("meta", "falta la meta")
        try:
            declared = Frequency.parse(cell("frecuencia"))
        except ValueError:
            raise fail("frecuencia", f"frecuencia desconocida «{cell('frecuencia')}»; se "
                       "esperaba MENSUAL, TRIMESTRAL, SEMESTRAL o ANUAL") from None
        value = _number(cell("valor"), "valor", fail)
        avance_abs = self._optional_figure(cell("avance_absoluto"), "avance_absoluto", raw)
        avance_pct = self._optional_figure(cell("avance_pct"), "avance_pct", raw)
        section = draft.section()
        label = f"{resolved['clave']} · {nombre}"
        frequency, period = self._effective_frequency(declared, section, avance_abs, raw,
                                                      label)
        unidad = cell("unidad_medida")
        percent_indicator = unidad == "%" or cell("meta").endswith("%")
        self.report.rows.append(PoaRow(
            line=raw.line, sheet=raw.sheet, section=section,
            linea=resolved["linea"], objetivo=resolved["objetivo"],
            unit_clave=resolved["clave"], unit_nombre=resolved["unit_nombre"],
            accion=resolved["accion"], comentarios=resolved["comentarios"],
            nombre=nombre, descripcion=cell("descripcion"), meta=meta,
            unidad_medida=unidad, declared_frequency=declared, frequency=frequency,
            period=period, value=value, observaciones=cell("observaciones"),
            aggregation=AGGREGATE_LAST if percent_indicator else AGGREGATE_SUM,
            avance_absoluto=avance_abs, avance_pct=avance_pct))
        if section is not self.last_section:
            if id(section) not in self.section_ids:
                self.section_ids.add(id(section))
                self.report.sections.append(section)
            self.last_section = section

    def _continue(self, cell, fail) -> dict[str, str]:
        """Resolve blank cells that mean "same as above", column by column.

        A column repeats the row above only while the column it depends on is the same
        (a new LÍNEA DE ACCIÓN does not inherit the old objective; a new unit does not
        inherit the old action). COMENTARIOS describes the action, so a row that repeats
        the action also repeats its comments when blank (307's second indicator).
        """
        prev = self.previous or {}
        out: dict[str, str] = {}
        for name, parent in (("linea", None), ("objetivo", "linea"), ("clave", None),
                             ("unit_nombre", "clave"), ("accion", "clave"),
                             ("comentarios", "accion")):
            own = cell(name)
            same_parent = parent is None or out.get(parent) == prev.get(parent)
            carry = not own and same_parent and (name != "comentarios" or not cell("accion"))
            out[name] = prev.get(name, "") if carry else own
        for name in ("clave", "accion"):
            if not out[name]:
                raise fail(name, f"{FIELD_LABELS[name]} vacía y sin fila anterior que "
                           "continuar en esta sección")
        self.previous = out
        return out

    def _optional_figure(self, text: str, name: str, raw: RawRow) -> Decimal | None:
        """The report's own figures: unreadable ones (#DIV/0!) only lose their check."""
        if not text:
            return None
        try:
            return parse_number(text).value
        except NumberError:
            self.report.warnings.append(ImportWarning(
                raw.line, f"{FIELD_LABELS[name]} «{text}» no es un número; no se verifica",
                raw.sheet))
            return None

    def _effective_frequency(self, declared: Frequency, section: Section,
                             avance_abs: Decimal | None, raw: RawRow, label: str
                             ) -> tuple[Frequency, Period]:
        """The frequency the row really has, and so the period its value belongs to.

        A declared frequency as fine as the section's or coarser is legitimate: a semiannual
        indicator listed in a quarterly section reports its half-year. A finer one (MENSUAL
        in a PRIMER TRIMESTRE section) cannot be placed in any one month: the section wins,
        and the contradiction is reported.
        """
        section_freq = section.period.frequency
        if declared.months >= section_freq.months:
            return declared, Period.containing(section.period.start, declared)
        share = _share_text(avance_abs, section_freq, declared)
        self.report.warnings.append(ImportWarning(
            raw.line, f"{label}: frecuencia declarada {declared.value} en una sección "
            f"«{section.period.short_label}»{share}; se toma como {section_freq.value} "
            f"(periodo {section.period.code})", raw.sheet))
        return section_freq, section.period


def _tidy(text: str, kind: str | None) -> str:
    if kind == "code":
        return code_text(text)
    if kind == "verbatim":
        return text.replace("\r\n", "\n").strip()
    return clean(text)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (spreadsheet column names)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _share_text(avance_abs: Decimal | None, section_freq: Frequency,
                declared: Frequency) -> str:
    if avance_abs is None:
        return ""
    for freq in (section_freq, declared):
        if abs(avance_abs - Decimal(100) / freq.periods_per_year) <= Decimal("0.02"):
            return (f" (su AVANCE ABSOLUTO {_pct(avance_abs)} corresponde a "
                    f"{freq.value})")
    return ""


def _pct(value: Decimal) -> str:
    return format_percent(value)


def _number(text: str, name: str, fail) -> Decimal | None:
    if not text:
        return None
    try:
        return parse_number(text).value
    except NumberError as exc:
        if exc.reason == "not_a_number":
            raise fail(name, f"«{text}» no es un número") from None
        raise fail(name, str(exc)) from None


def _heading(text: str) -> tuple[str, str] | None:
    head, colon, rest = text.partition(":")
    if not colon:
        return None
    key = _HEADING_KEYS.get(norm(head))
    return (key, clean(rest)) if key else None


def _period_line(text: str, default_year: int | None) -> Period | None:
    try:
        return parse_period(text, default_year=default_year)
    except PeriodError:
        return None


def _is_header(cells: tuple[str, ...]) -> bool:
    # Only a cell opening with L or A (or with something not ASCII, such as an invisible
    # character) can be one of the two headings: the rest need no normalising.
    words = [norm(c) for c in cells if (c.lstrip()[:1] or " ") in "LlAa" or not c.isascii()]
    return (any(w.startswith("LINEA DE ACCION") for w in words)
            and any(w.startswith("ACCIONES OPERATIVAS") for w in words))


def _is_sub_header(cells: tuple[str, ...]) -> bool:
    words = {norm(c) for c in cells}
    return "CLAVE" in words and "META" in words and not _is_header(cells)


def _columns(top: tuple[str, ...], sub: tuple[str, ...]) -> dict[str, int]:
    """Field → column index, from the group row and the (optional) sub-header row.

    The group row spans several columns with one label (UNIDAD RESPONSABLE over CLAVE and
    NOMBRE; INDICADOR DE DESEMPEÑO over seven), so its label is carried to the right.
    """
    columns: dict[str, int] = {}
    group = ""
    for index in range(max(len(top), len(sub))):
        own_group = norm(top[index]) if index < len(top) else ""
        label = norm(sub[index]) if index < len(sub) else ""
        group = own_group or group
        if not own_group and not label:
            continue
        name = _field_for(group, label, columns)
        if name and name not in columns:
            columns[name] = index
    return columns


def _field_for(group: str, label: str, seen: dict[str, int]) -> str | None:
    word = label or group
    if not label:
        if group.startswith("LINEA DE ACCION"):
            return "linea"
        if group.startswith("OBJETIVO"):
            return "objetivo"
        if group.startswith("ACCIONES OPERATIVAS") or group.startswith("ACCION OPERATIVA"):
            return "accion"
    if word == "CLAVE":
        return "clave"
    if word.startswith("NOMBRE"):
        if "UNIDAD" in group or "UNIDAD" in word:
            return "unit_nombre"
        if "INDICADOR" in group or "INDICADOR" in word or "accion" in seen:
            return "nombre"
        return "unit_nombre"
    simple = (("META ANUAL", "meta_anual"), ("AVANCE ABSOLUTO", "avance_absoluto"),
              ("AVANCE %", "avance_pct"), ("AVANCE%", "avance_pct"),
              ("COMENTARIO", "comentarios"), ("DESCRIPCION", "descripcion"),
              ("UNIDAD MEDIDA", "unidad_medida"), ("UNIDAD DE MEDIDA", "unidad_medida"),
              ("FRECUENCIA", "frecuencia"), ("VALOR", "valor"),
              ("OBSERVACION", "observaciones"))
    if word == "META":
        return "meta"
    for prefix, name in simple:
        if word.startswith(prefix):
            return name
    return None
