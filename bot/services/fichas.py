"""Fichas técnicas as the rest of the bot reads them: the stored ficha or today's defaults.

Every caller that judges a figure (summary, reporting flow, export, charts, reminders) asks
here, so an indicator without a ficha row is judged exactly as before fichas existed (see
:mod:`bot.domain.fichas` for the rules and formulas).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from bot.domain.attainment import Bands
from bot.domain.fichas import (
    Acumulacion,
    FichaRules,
    Semaforo,
    Sentido,
    default_acumulacion,
)
from bot.domain.periods import Frequency, Period
from storage.models import Ficha, Indicator, ProgrammedMeta, Unit

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

# Plain rows, built once: every value a coordinador types reads its ficha and calendar, and
# an ORM select built and loaded per call cost several times the query itself.
_FICHAS_OF = core_select(*Ficha.__table__.c).where(
    Ficha.__table__.c.indicator_id.in_(bindparam("ids", expanding=True)))
_METAS_OF = core_select(ProgrammedMeta.__table__.c.indicator_id,
                        ProgrammedMeta.__table__.c.period, ProgrammedMeta.__table__.c.meta
                        ).where(ProgrammedMeta.__table__.c.indicator_id.in_(
                            bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class FichaView:
    """One indicator's ficha in force (stored, or the defaults when ``stored`` is False)."""

    indicator_id: int
    rules: FichaRules
    linea_base_valor: Decimal | None = None
    linea_base_anio: int | None = None
    medio_verificacion: str = ""
    evidencia_obligatoria: bool = False
    stored: bool = False


def default_semaforo(bands: Bands) -> Semaforo:
    """The settings' global bands (``POA_BAND_GREEN`` / ``_YELLOW``) as a one-sided semáforo."""
    return Semaforo(green_min=bands.green, yellow_min=bands.yellow)


def default_ficha(indicator: Indicator, bands: Bands) -> FichaView:
    """Today's implicit rules for an indicator without a ficha row."""
    per_year = Frequency.parse(indicator.frecuencia).periods_per_year
    return FichaView(
        indicator_id=indicator.id,
        rules=FichaRules(
            sentido=Sentido.ASCENDENTE,
            acumulacion=default_acumulacion(indicator.aggregation, indicator.meta, per_year),
            semaforo=default_semaforo(bands)))


def ficha_from_row(row: Ficha, prefix: str = "") -> FichaView:
    """The view of a stored ficha (an ORM row or a plain row of the table's columns, named
    ``prefix`` + the column's name)."""
    def get(name: str):
        return getattr(row, prefix + name)

    return FichaView(
        indicator_id=get("indicator_id"),
        rules=FichaRules(
            sentido=Sentido(get("sentido")),
            acumulacion=Acumulacion(get("acumulacion")),
            semaforo=Semaforo(green_min=get("verde_min"), yellow_min=get("amarillo_min"),
                              green_max=get("verde_max"), yellow_max=get("amarillo_max"))),
        linea_base_valor=get("linea_base_valor"), linea_base_anio=get("linea_base_anio"),
        medio_verificacion=get("medio_verificacion"),
        evidencia_obligatoria=get("evidencia_obligatoria"), stored=True)


# What a query reading an indicator adds to carry the ficha that judges its values (with
# ``LEFT JOIN fichas``): the columns :func:`ficha_from_row` reads, prefixed ``f_``, and whether
# the indicator has a calendar of programmed metas. See :func:`carried_ficha_and_calendar`.
_FICHA_TABLE = Ficha.__table__
CARRIED_FICHA = (
    *(_FICHA_TABLE.c[name].label(f"f_{name}") for name in (
        "indicator_id", "sentido", "acumulacion", "verde_min", "amarillo_min", "verde_max",
        "amarillo_max", "linea_base_valor", "linea_base_anio", "medio_verificacion",
        "evidencia_obligatoria")),
    core_select(ProgrammedMeta.__table__.c.indicator_id)
    .where(ProgrammedMeta.__table__.c.indicator_id == Indicator.__table__.c.id)
    .exists().label("calendarised"))


def carried_ficha_and_calendar(session: Session, row,
                               bands: Bands) -> tuple[FichaView, dict[str, Decimal]]:
    """:func:`ficha_and_calendar` of an indicator row that carries :data:`CARRIED_FICHA`:
    the ficha comes with the row, and the calendar is read only if there is one (a value
    typed for an indicator without one is judged without asking the database)."""
    ficha = (ficha_from_row(row, prefix="f_") if row.f_indicator_id is not None
             else default_ficha(row, bands))
    calendar = programmed_metas(session, [row.id]).get(row.id, {}) if row.calendarised else {}
    return ficha, calendar


def load_fichas(session: Session, indicators: Iterable[Indicator],
                bands: Bands) -> dict[int, FichaView]:
    """The ficha in force for each indicator, by indicator id (a query per 500 indicators)."""
    by_id = {indicator.id: indicator for indicator in indicators}
    stored: dict[int, Ficha] = {}
    ids = list(by_id)
    for start in range(0, len(ids), _CHUNK):
        for row in session.connection().execute(_FICHAS_OF, {"ids": ids[start:start + _CHUNK]}):
            stored[row.indicator_id] = row
    return {indicator_id: (ficha_from_row(stored[indicator_id]) if indicator_id in stored
                           else default_ficha(indicator, bands))
            for indicator_id, indicator in by_id.items()}


def load_ficha(session: Session, indicator: Indicator, bands: Bands) -> FichaView:
    return load_fichas(session, [indicator], bands)[indicator.id]


# One indicator's ficha (NULLs: none stored) and calendar (a row per programmed period, or
# one row of NULLs), in one query: every value typed is judged against both.
_FICHA_AND_CALENDAR = (
    core_select(*Ficha.__table__.c, ProgrammedMeta.__table__.c.period,
                ProgrammedMeta.__table__.c.meta)
    .select_from(Indicator.__table__)
    .outerjoin(Ficha.__table__, Ficha.__table__.c.indicator_id == Indicator.__table__.c.id)
    .outerjoin(ProgrammedMeta.__table__,
               ProgrammedMeta.__table__.c.indicator_id == Indicator.__table__.c.id)
    .where(Indicator.__table__.c.id == bindparam("indicator_id")))


def ficha_and_calendar(session: Session, indicator: Indicator,
                       bands: Bands) -> tuple[FichaView, dict[str, Decimal]]:
    """:func:`load_ficha` and the indicator's :func:`programmed_metas`, in one query."""
    rows = session.connection().execute(_FICHA_AND_CALENDAR,
                                        {"indicator_id": indicator.id}).all()
    first = rows[0] if rows else None
    ficha = (ficha_from_row(first) if first is not None and first.indicator_id is not None
             else default_ficha(indicator, bands))
    return ficha, {row.period: row.meta for row in rows if row.period is not None}


def programmed_metas(session: Session,
                     indicator_ids: Iterable[int]) -> dict[int, dict[str, Decimal]]:
    """Calendarised metas stored per indicator and period code (periods without one: even)."""
    result: dict[int, dict[str, Decimal]] = {}
    ids = list(indicator_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.connection().execute(_METAS_OF, {"ids": ids[start:start + _CHUNK]})
        for indicator_id, code, meta in rows:
            result.setdefault(indicator_id, {})[code] = meta
    return result


def programmed_meta(indicator: Indicator, calendar: dict[str, Decimal] | None,
                    period_code: str) -> Decimal:
    """The meta programmed for one of the indicator's periods (the even split by default)."""
    if calendar and period_code in calendar:
        return calendar[period_code]
    return indicator.meta


# --- the ficha as a person sees it (chat, /ficha) ------------------------------------------

@dataclass(frozen=True)
class FichaCard:
    """Everything ``/ficha`` shows of one indicator (descriptive fields, rules, calendar)."""

    ficha: FichaView
    indicator_id: int
    unit_clave: str
    unit_nombre: str
    nombre: str
    short_name: str | None
    unidad_medida: str
    frecuencia: str
    year: int
    metas: tuple[tuple[str, Decimal, bool], ...]  # (period code, programmed meta, calendarised)


def year_periods(indicator: Indicator) -> list[Period]:
    """The indicator's own periods of its POA year, in order."""
    frequency = Frequency.parse(indicator.frecuencia)
    return Period.whole_year(indicator.year).subperiods(frequency)


def ficha_card(session: Session, indicator: Indicator, bands: Bands) -> FichaCard:
    unit = session.get(Unit, indicator.unit_id)
    calendar = programmed_metas(session, [indicator.id]).get(indicator.id, {})
    metas = tuple((p.code, programmed_meta(indicator, calendar, p.code), p.code in calendar)
                  for p in year_periods(indicator))
    return FichaCard(
        ficha=load_ficha(session, indicator, bands), indicator_id=indicator.id,
        unit_clave=unit.clave, unit_nombre=unit.nombre, nombre=indicator.nombre,
        short_name=indicator.short_name, unidad_medida=indicator.unidad_medida,
        frecuencia=indicator.frecuencia, year=indicator.year, metas=metas)


def unit_indicators(session: Session, unit_clave: str) -> list[Indicator]:
    """The indicators of the unit's latest POA year, in report order."""
    unit = session.exec(select(Unit).where(Unit.clave == unit_clave)).first()
    if unit is None:
        return []
    year = session.exec(select(func.max(Indicator.year)).where(
        Indicator.unit_id == unit.id)).one()
    if year is None:
        return []
    return list(session.exec(select(Indicator).where(
        Indicator.unit_id == unit.id, Indicator.year == year)
        .order_by(Indicator.position, Indicator.id)))
