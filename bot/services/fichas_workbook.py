"""The fichas técnicas of a POA year as an .xlsx the office edits (``poa-bot fichas``).

Sheet **Fichas**, one row per indicator (every field filled with what is in force: the
stored ficha or the defaults)::

    unidad | id | nombre | nombre_corto | frecuencia | sentido | acumulacion |
    linea_base_valor | linea_base_anio | medio_verificacion | evidencia_obligatoria |
    verde_min | amarillo_min | verde_max | amarillo_max

Sheet **Metas**, one row per indicator: ``unidad | id | nombre | frecuencia | P1 … P12``,
``Pn`` the meta programmed for the indicator's n-th period of the year (month n, quarter n,
half n, the year); cells past the frequency's periods stay empty.

``unidad``, ``nombre`` and ``frecuencia`` are there to read (``unidad`` is checked against the
indicator ``id``, the key). Import validates every cell first and refuses the whole file,
naming sheet, row and column, on any bad one; then writes only what differs from what is in
force (a ficha equal to the defaults creates no row), so importing an export changes nothing.
A programmed meta of a period that has already started is not changed here: that is a
*reprogramación* (``/reprogramar``, authorised by a gerente); the import refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlmodel import Session, select

from bot.domain.attainment import Bands
from bot.domain.fichas import Acumulacion, FichaRules, Semaforo, Sentido
from bot.domain.periods import Frequency
from bot.services.fichas import (
    FichaView,
    load_fichas,
    programmed_metas,
    year_periods,
)
from storage.models import Ficha, Indicator, ProgrammedMeta, Unit

FICHAS, METAS = "Fichas", "Metas"
FICHA_COLUMNS = ("unidad", "id", "nombre", "nombre_corto", "frecuencia", "sentido",
                 "acumulacion", "linea_base_valor", "linea_base_anio", "medio_verificacion",
                 "evidencia_obligatoria", "verde_min", "amarillo_min", "verde_max",
                 "amarillo_max")
MAX_PERIODS = 12
META_COLUMNS = ("unidad", "id", "nombre", "frecuencia",
                *(f"P{n}" for n in range(1, MAX_PERIODS + 1)))
YES, NO = "sí", "no"
MAX_VALUE = Decimal("999999999999999")


class WorkbookError(ValueError):
    """The file is refused; ``problems`` are Spanish lines naming sheet, row and column."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _catalog(session: Session, year: int) -> list[tuple[Indicator, str]]:
    return [(indicator, clave) for indicator, clave in session.exec(
        select(Indicator, Unit.clave).join(Unit, Unit.id == Indicator.unit_id)
        .where(Indicator.year == year).order_by(Unit.clave, Indicator.position, Indicator.id))]


# --- export ------------------------------------------------------------------------------------

def export_fichas(session: Session, year: int, out: Path, bands: Bands) -> int:
    """Write the year's fichas to ``out``; returns the number of indicators."""
    catalog = _catalog(session, year)
    fichas = load_fichas(session, [i for i, _ in catalog], bands)
    calendars = programmed_metas(session, [i.id for i, _ in catalog])
    # openpyxl (with numpy, PIL and lxml behind it) only when a workbook is made: every
    # poa-bot command imports this module for its arguments, and `run` would carry them.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = FICHAS
    sheet.append(FICHA_COLUMNS)
    metas = book.create_sheet(METAS)
    metas.append(META_COLUMNS)
    for indicator, clave in catalog:
        view = fichas[indicator.id]
        s = view.rules.semaforo
        sheet.append([clave, indicator.id, indicator.nombre, indicator.short_name or "",
                      indicator.frecuencia, view.rules.sentido.value,
                      view.rules.acumulacion.value, view.linea_base_valor,
                      view.linea_base_anio, view.medio_verificacion,
                      YES if view.evidencia_obligatoria else NO, s.green_min, s.yellow_min,
                      s.green_max, s.yellow_max])
        calendar = calendars.get(indicator.id, {})
        metas.append([clave, indicator.id, indicator.nombre, indicator.frecuencia,
                      *(calendar.get(p.code, indicator.meta) for p in year_periods(indicator))])
    for ws in (sheet, metas):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "C2"
    book.save(out)
    return len(catalog)


# --- import ------------------------------------------------------------------------------------

@dataclass
class ImportPlan:
    """What an import would change (``changes`` are Spanish lines for people)."""

    fichas: dict[int, Ficha] = field(default_factory=dict)  # rows to write
    short_names: dict[int, str | None] = field(default_factory=dict)
    metas: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)


class _Cells:
    """Reads one row's cells, collecting problems instead of stopping at the first."""

    def __init__(self, sheet: str, row_number: int, columns: tuple[str, ...], values,
                 problems: list[str]):
        self.sheet, self.row, self.columns, self.problems = sheet, row_number, columns, problems
        self.values = list(values) + [None] * (len(columns) - len(values))

    def where(self, name: str) -> str:
        index = self.columns.index(name)
        return f"{self.sheet}, fila {self.row}, columna {_letter(index)} ({name})"

    def bad(self, name: str, why: str) -> None:
        self.problems.append(f"{self.where(name)}: {why}")

    def raw(self, name: str):
        value = self.values[self.columns.index(name)]
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, name: str) -> str:
        value = self.raw(name)
        return "" if value is None else str(value)

    def decimal(self, name: str, *, required: bool) -> Decimal | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.bad(name, "falta el número")
            return None
        if isinstance(value, bool):
            self.bad(name, f"«{value}» no es un número")
            return None
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value))
        except InvalidOperation:
            self.bad(name, f"«{value}» no es un número")
            return None
        if not number.is_finite() or number < 0 or number > MAX_VALUE:
            self.bad(name, f"«{value}» debe ser un número de 0 en adelante")
            return None
        if number != number.quantize(Decimal("0.001")):
            self.bad(name, f"«{value}» tiene más de 3 decimales")
            return None
        return number

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or number != number.to_integral_value() \
                or not 1900 <= number <= 2200:
            self.bad(name, f"«{value}» no es un año")
            return None
        return int(number)

    def choice(self, name: str, enum):
        value = self.text(name).lower()
        try:
            return enum(value)
        except ValueError:
            self.bad(name, f"«{self.text(name)}» no es una opción válida "
                           f"({', '.join(e.value for e in enum)})")
            return None


def _rows(book, sheet_name: str, columns: tuple[str, ...], problems: list[str]):
    if sheet_name not in book.sheetnames:
        problems.append(f"Falta la hoja «{sheet_name}».")
        return []
    rows = list(book[sheet_name].iter_rows(values_only=True))
    header = [str(c).strip().lower() if c is not None else "" for c in (rows[0] if rows else ())]
    header = header[:len(columns)]
    if tuple(header) != tuple(c.lower() for c in columns):
        problems.append(f"{sheet_name}, fila 1: los encabezados deben ser "
                        f"{', '.join(columns)}.")
        return []
    return [(number, row) for number, row in enumerate(rows[1:], start=2)
            if any(v is not None and str(v).strip() for v in row)]


def _indicator_of(cells: _Cells, catalog: dict[int, tuple[Indicator, str]], seen: set[int]):
    key = cells.raw("id")
    try:
        indicator_id = int(Decimal(str(key))) if key is not None else None
    except InvalidOperation:
        indicator_id = None
    if indicator_id is None or indicator_id not in catalog:
        cells.bad("id", f"«{key}» no es un indicador de este POA")
        return None
    if indicator_id in seen:
        cells.bad("id", f"el indicador {indicator_id} aparece dos veces")
        return None
    seen.add(indicator_id)
    indicator, clave = catalog[indicator_id]
    if cells.text("unidad") != clave:
        cells.bad("unidad", f"el indicador {indicator_id} es de la unidad {clave}, "
                            f"no «{cells.text('unidad')}»")
        return None
    return indicator


def plan_import(session: Session, path: Path, year: int | None, bands: Bands,
                today: date) -> ImportPlan:
    """Validate ``path`` against the catalog; raises :class:`WorkbookError` on any bad cell."""
    from openpyxl import load_workbook

    problems: list[str] = []
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not an xlsx
        raise WorkbookError([f"{path.name}: no es un libro .xlsx legible ({exc})."]) from exc
    try:
        ficha_rows = _rows(book, FICHAS, FICHA_COLUMNS, problems)
        meta_rows = _rows(book, METAS, META_COLUMNS, problems)
    finally:
        book.close()
    statement = select(Indicator, Unit.clave).join(Unit, Unit.id == Indicator.unit_id)
    if year is not None:
        statement = statement.where(Indicator.year == year)
    catalog = {indicator.id: (indicator, clave) for indicator, clave in session.exec(statement)}
    in_force = load_fichas(session, [i for i, _ in catalog.values()], bands)
    stored = {row.indicator_id for row in session.exec(select(Ficha).where(
        Ficha.indicator_id.in_(list(catalog) or [0])))}
    plan = ImportPlan()
    seen: set[int] = set()
    for number, values in ficha_rows:
        cells = _Cells(FICHAS, number, FICHA_COLUMNS, values, problems)
        indicator = _indicator_of(cells, catalog, seen)
        if indicator is not None:
            _plan_ficha(cells, indicator, in_force[indicator.id],
                        indicator.id in stored, plan)
    seen = set()
    calendars = programmed_metas(session, list(catalog))
    for number, values in meta_rows:
        cells = _Cells(METAS, number, META_COLUMNS, values, problems)
        indicator = _indicator_of(cells, catalog, seen)
        if indicator is not None:
            _plan_metas(cells, indicator, calendars.get(indicator.id, {}), today, plan)
    if problems:
        raise WorkbookError(problems)
    return plan


def _plan_ficha(cells: _Cells, indicator: Indicator, current: FichaView, stored: bool,
                plan: ImportPlan) -> None:
    before = len(cells.problems)
    sentido = cells.choice("sentido", Sentido)
    acumulacion = cells.choice("acumulacion", Acumulacion)
    base_value = cells.decimal("linea_base_valor", required=False)
    base_year = cells.integer("linea_base_anio")
    evidence = cells.text("evidencia_obligatoria").lower()
    if evidence not in ("si", YES, NO):
        cells.bad("evidencia_obligatoria", f"«{cells.text('evidencia_obligatoria')}»: "
                                           "escribe sí o no")
    green, yellow = (cells.decimal("verde_min", required=True),
                     cells.decimal("amarillo_min", required=True))
    green_max, yellow_max = (cells.decimal("verde_max", required=False),
                             cells.decimal("amarillo_max", required=False))
    short = cells.text("nombre_corto")
    if len(short) > 60:
        cells.bad("nombre_corto", "máximo 60 caracteres")
    if len(cells.problems) > before:
        return
    try:
        rules = FichaRules(sentido, acumulacion, Semaforo(green, yellow, green_max, yellow_max))
    except ValueError as exc:
        cells.bad("verde_min", str(exc))
        return
    view = FichaView(indicator.id, rules, base_value, base_year,
                     cells.text("medio_verificacion"), evidence != NO, stored=stored)
    if (short or None) != (indicator.short_name or None):
        plan.short_names[indicator.id] = short or None
        plan.changes.append(f"indicador {indicator.id}: nombre corto «{short}»")
    if _same(view, current):
        return
    plan.fichas[indicator.id] = Ficha(
        indicator_id=indicator.id, sentido=rules.sentido.value,
        acumulacion=rules.acumulacion.value, linea_base_valor=base_value,
        linea_base_anio=base_year, medio_verificacion=view.medio_verificacion,
        evidencia_obligatoria=view.evidencia_obligatoria, verde_min=green, amarillo_min=yellow,
        verde_max=green_max, amarillo_max=yellow_max, updated_at=datetime.now(UTC))
    plan.changes.append(f"indicador {indicator.id}: ficha ({rules.sentido.value}, "
                        f"{rules.acumulacion.value}, verde {green}, amarillo {yellow}"
                        + (f", máximos {green_max}/{yellow_max}" if green_max is not None
                           else "") + ")")


def _same(new: FichaView, current: FichaView) -> bool:
    return (new.rules == current.rules and new.linea_base_valor == current.linea_base_valor
            and new.linea_base_anio == current.linea_base_anio
            and new.medio_verificacion == current.medio_verificacion
            and new.evidencia_obligatoria == current.evidencia_obligatoria)


def _plan_metas(cells: _Cells, indicator: Indicator, calendar: dict[str, Decimal],
                today: date, plan: ImportPlan) -> None:
    periods = year_periods(indicator)
    per_year = Frequency.parse(indicator.frecuencia).periods_per_year
    for n in range(1, MAX_PERIODS + 1):
        name = f"P{n}"
        if n > per_year:
            if cells.raw(name) is not None:
                cells.bad(name, f"el indicador tiene {per_year} periodo(s) al año; deja "
                                "esta celda vacía")
            continue
        period = periods[n - 1]
        value = cells.decimal(name, required=True)
        if value is None:
            continue
        current = calendar.get(period.code, indicator.meta)
        if value == current:
            continue
        if period.start <= today:
            cells.bad(name, f"{period.label} ya empezó: cambiar su meta ({current} → {value}) "
                            "es una reprogramación; pídela con /reprogramar")
            continue
        plan.metas[(indicator.id, period.code)] = value
        plan.changes.append(f"indicador {indicator.id}: meta de {period.label} "
                            f"{current} → {value}")


def apply_import(session: Session, plan: ImportPlan) -> None:
    """Write a validated plan (one transaction: the caller's session)."""
    for row in plan.fichas.values():
        session.merge(row)  # by primary key: insert, or replace every field
    for indicator_id, short in plan.short_names.items():
        indicator = session.get(Indicator, indicator_id)
        indicator.short_name = short
        session.add(indicator)
    for (indicator_id, code), meta in plan.metas.items():
        row = session.get(ProgrammedMeta, (indicator_id, code))
        if row is None:
            row = ProgrammedMeta(indicator_id=indicator_id, period=code, meta=meta)
        row.meta = meta
        session.add(row)
    session.flush()


def import_fichas(session: Session, path: Path, *, year: int | None, bands: Bands,
                  today: date, dry_run: bool) -> ImportPlan:
    plan = plan_import(session, path, year, bands, today)
    if not dry_run:
        apply_import(session, plan)
    return plan
