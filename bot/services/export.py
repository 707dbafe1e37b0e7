"""Gathers the catalog and the values of a period into the POA report layout.

Which sections a period P gets, per unit (as the original report does for a quarter):

* an indicator measured more often than P (monthly in a quarter) gets one section per own
  period inside P (``ene-23``, ``feb-23``, ``mar-23``);
* one measured exactly as often (quarterly in a quarter) is in P's section;
* one measured less often (semiannual in a quarter) is in P's section too, showing its own
  period (``2023-S1``), whose share of the year is its AVANCE ABSOLUTO (50 %).

Within a unit, sections follow time (months before the quarter that ends with them) and the
plan headings of the action lines (a change of EJE/PROGRAMA/SUB EJE/TRANSVERSALIDAD starts a
new section). Units follow catalog order (their first appearance when imported), rows the
indicators' positions. Own periods that have not started by ``today`` are left out (``2023``
is the year to date) unless they already hold a value.

AVANCE %/ META ANUAL is computed by the attainment engine with the rule of the summary:
the year's values whose period starts on or before the row's period end, against the meta
in force (the meta the row's period was reported against, else the indicator's) × periods
per year; the last value for '%' indicators. A period imported without value but with a
remark (``remarks_without_value``) prints the remark with VALOR ACTUAL empty, so exporting
and importing again loses nothing. SQL: three statements whatever the catalog size, plus
the fichas' (below) and one summary per section period.

An indicator with a ficha técnica or calendarised metas (:mod:`bot.services.summary_fichas`)
follows them instead: META is the period's programmed meta (the calendar's, else the meta
the value was reported against, else ``Indicator.meta``), reported or not, and AVANCE %/
META ANUAL is the summary line's cumulative progress (the ficha's accumulation against Σ of
the year's programmed metas), so the workbook and ``/resumen`` say the same. Indicators
without either keep the rule above, figure for figure.

Each row's traffic-light :class:`~bot.domain.attainment.Status` (the fill of its AVANCE cell)
is the one :func:`bot.services.summary.build_summary` gives the indicator for the row's
section period, so the workbook, ``/resumen`` and the chat's lights always agree (one
summary per distinct section period: four for a quarter of monthly indicators).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, tzinfo
from decimal import Decimal

from sqlmodel import Session, select

from bot.domain.attainment import AGGREGATE_LAST, Bands, Status, cumulative_progress
from bot.domain.periods import Frequency, Period, period_from_code
from bot.poa_report.writer import ReportDocument, ReportLine, ReportSection
from bot.services import export_review, justification
from bot.services.summary import IndicatorLine, build_summary
from bot.services.summary_fichas import load_year_fichas
from storage.models import ActionLine, Indicator, RemarkWithoutValue, ReportedValue, Unit

HUNDRED = Decimal(100)


class NothingToExport(LookupError):
    """No indicator in the period's POA year; ``str()`` is Spanish."""


@dataclass(frozen=True)
class _Value:
    period: Period
    value: Decimal
    meta: Decimal
    observaciones: str


def section_periods(frequency: Frequency, asked: Period) -> list[tuple[Period, Period]]:
    """``(section period, own period)`` pairs an indicator of ``frequency`` gets in ``asked``."""
    if frequency.months <= asked.month_count:
        return [(own, own) for own in asked.subperiods(frequency)]
    return [(asked, Period.containing(asked.end, frequency))]


def build_report(session: Session, period: Period, *, today: date | None = None,
                 unit_claves: set[str] | None = None,
                 gerencia: str = "GERENCIA COMERCIAL", bands: Bands | None = None,
                 deadline_day: int = 5, approval_required: bool = False,
                 timezone: tzinfo = UTC) -> ReportDocument:
    """The POA report of ``period`` (optionally only some units), ready for the writer.

    With ``approval_required`` the document carries each unit's review state per section
    period (the workbook's «Revisión» sheet; times in ``timezone``)."""
    today = today or date.today()
    catalog = _catalog(session, period.year, unit_claves)
    if not catalog:
        raise NothingToExport(f"No hay indicadores del POA {period.year} para exportar.")
    values = _values(session, period, unit_claves)
    remarks = _remarks(session, period, unit_claves)
    frequencies = {Frequency.parse(indicator.frecuencia) for indicator, _, _ in catalog}
    shown_periods = {shown for frequency in frequencies
                     for shown, _own in section_periods(frequency, period)}
    judged = _summary_lines(session, shown_periods, today, unit_claves, bands, deadline_day)
    only = sorted(unit_claves or ())
    fichas = load_year_fichas(session, period, only[0] if len(only) == 1 else None)
    justified = justification.in_force(
        session, [indicator.id for indicator, _u, _a in catalog],
        {own.code for indicator, _u, _a in catalog
         for _s, own in section_periods(Frequency.parse(indicator.frecuencia), period)})

    # (unit order, section period, headings) -> rows; dicts keep insertion order.
    sections: dict[tuple, list[tuple[int, ReportLine]]] = defaultdict(list)
    headings_of: dict[tuple, tuple[str, str, str, str]] = {}
    units = {unit.id: unit for _i, unit, _a in catalog}
    for indicator, unit, action_line in catalog:
        frequency = Frequency.parse(indicator.frecuencia)
        own_values = values.get(indicator.id, {})
        own_remarks = remarks.get(indicator.id, {})
        headings = _headings(action_line)
        for shown, own in section_periods(frequency, period):
            stored = own_values.get(own.code)
            remark = own_remarks.get(own.code, "")
            if own.start > today and stored is None and not remark:
                continue
            key = (unit.id, shown, headings)
            headings_of[key] = headings
            summary_line = judged.get((indicator.id, own.code))
            line = _line(indicator, unit, action_line, frequency, own, stored, own_values,
                         remark, summary_line.status if summary_line else None)
            if fichas.has_own(indicator.id):
                line = _by_ficha(line, own, stored, indicator,
                                 fichas.calendars.get(indicator.id, {}), summary_line)
            text = justified.get((indicator.id, own.code), "")
            sections[key].append((indicator.position,
                                  replace(line, justificacion=text) if text else line))

    # Per unit in time order, a month before the quarter that ends with it.
    ordered = sorted(sections, key=lambda key: (key[0], key[1].end, key[1].month_count))
    review = (export_review.review_rows(session, [(units[key[0]], key[1]) for key in ordered],
                                        timezone) if approval_required else ())
    return ReportDocument(
        review=review,
        year=period.year, gerencia=gerencia, title=f"POA {period.code}",
        sections=tuple(
            ReportSection(
                period_label=key[1].short_label, eje=headings_of[key][0],
                programa=headings_of[key][1], sub_eje=headings_of[key][2],
                transversalidad=headings_of[key][3],
                lines=tuple(line for _, line in sorted(sections[key], key=lambda r: r[0])))
            for key in ordered))


def _headings(action_line: ActionLine | None) -> tuple[str, str, str, str]:
    if action_line is None:
        return ("", "", "", "")
    return (action_line.eje, action_line.programa, action_line.sub_eje,
            action_line.transversalidad)


def _line(indicator: Indicator, unit: Unit, action_line: ActionLine | None,
          frequency: Frequency, own: Period, stored: _Value | None,
          own_values: dict[str, _Value], remark: str = "",
          status: Status | None = None) -> ReportLine:
    # The year's values up to this row's period, in period order (as the summary counts).
    so_far = sorted((v for v in own_values.values() if v.period.start <= own.end),
                    key=lambda v: (v.period.end, -v.period.start.toordinal()))
    meta = stored.meta if stored else indicator.meta
    if indicator.aggregation == AGGREGATE_LAST:
        cumulative = cumulative_progress([v.value for v in so_far][-1:], meta,
                                         frequency.periods_per_year, AGGREGATE_LAST)
    else:
        cumulative = cumulative_progress([v.value for v in so_far], meta,
                                         frequency.periods_per_year)
    return ReportLine(
        linea=action_line.code if action_line else "",
        objetivo=action_line.objetivo if action_line else "",
        unit_clave=unit.clave, unit_nombre=unit.nombre, accion=indicator.accion,
        share_of_year=Decimal(own.month_count) * HUNDRED / 12,
        cumulative=cumulative, comentarios=indicator.comentarios, nombre=indicator.nombre,
        descripcion=indicator.descripcion, meta=meta, unidad_medida=indicator.unidad_medida,
        frecuencia=frequency.value, value=stored.value if stored else None,
        observaciones=stored.observaciones if stored else remark, status=status)


def _by_ficha(line: ReportLine, own: Period, stored: _Value | None, indicator: Indicator,
              calendar: dict[str, Decimal], judged: IndicatorLine | None) -> ReportLine:
    """The row of an indicator with a ficha or a calendar: the period's programmed meta and
    the summary's cumulative progress (its ficha's accumulation and annual meta)."""
    meta = calendar.get(own.code, stored.meta if stored else indicator.meta)
    cumulative = judged.cumulative if judged is not None else line.cumulative
    return replace(line, meta=meta, cumulative=cumulative)


def _summary_lines(session: Session, shown_periods: set[Period], today: date,
                   unit_claves: set[str] | None, bands: Bands | None,
                   deadline_day: int) -> dict[tuple[int, str], IndicatorLine]:
    """``(indicator id, own period code) -> line`` of the summary of each section period
    (its status colours the AVANCE cell).

    A summary line of period P shows the indicator's own period (P itself, or e.g. 2023-S1
    in a quarter), the same own period :func:`section_periods` pairs with P.
    """
    only = sorted(unit_claves or ())
    scope = only[0] if len(only) == 1 else None  # one unit: a summary of it alone
    result: dict[tuple[int, str], IndicatorLine] = {}
    for shown in sorted(shown_periods):
        summary = build_summary(session, shown, unit_clave=scope, today=today, bands=bands,
                                deadline_day=deadline_day)
        for unit in summary.units:
            if unit_claves is None or unit.clave in unit_claves:
                for line in unit.lines:
                    result[(line.indicator_id, line.period)] = line
    return result


# --- queries (three, whatever the catalog size) ----------------------------------------------

def _catalog(session: Session, year: int, unit_claves: set[str] | None):
    statement = (select(Indicator, Unit, ActionLine)
                 .join(Unit, Unit.id == Indicator.unit_id)
                 .outerjoin(ActionLine, ActionLine.id == Indicator.action_line_id)
                 .where(Indicator.year == year)
                 .order_by(Unit.id, Indicator.position, Indicator.id))
    if unit_claves is not None:
        statement = statement.where(Unit.clave.in_(sorted(unit_claves)))
    return session.exec(statement).all()


def _values(session: Session, period: Period,
            unit_claves: set[str] | None) -> dict[int, dict[str, _Value]]:
    """Every value of the year whose period starts by the end of ``period``."""
    statement = (select(ReportedValue.indicator_id, ReportedValue.period, ReportedValue.value,
                        ReportedValue.meta, ReportedValue.observaciones)
                 .join(Indicator, Indicator.id == ReportedValue.indicator_id)
                 .where(Indicator.year == period.year,
                        ReportedValue.period_start >= date(period.year, 1, 1),
                        ReportedValue.period_start <= period.end))
    if unit_claves is not None:
        statement = statement.join(Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave.in_(sorted(unit_claves)))
    result: dict[int, dict[str, _Value]] = defaultdict(dict)
    for indicator_id, code, value, meta, remarks in session.exec(statement):
        result[indicator_id][code] = _Value(period_from_code(code), value, meta, remarks or "")
    return result


def _remarks(session: Session, period: Period,
             unit_claves: set[str] | None) -> dict[int, dict[str, str]]:
    """Remarks of the year's periods imported without value, up to the end of ``period``."""
    statement = (select(RemarkWithoutValue.indicator_id, RemarkWithoutValue.period,
                        RemarkWithoutValue.observaciones)
                 .join(Indicator, Indicator.id == RemarkWithoutValue.indicator_id)
                 .where(Indicator.year == period.year))
    if unit_claves is not None:
        statement = statement.join(Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave.in_(sorted(unit_claves)))
    result: dict[int, dict[str, str]] = defaultdict(dict)
    for indicator_id, code, remarks in session.exec(statement):
        if period_from_code(code).start <= period.end:
            result[indicator_id][code] = remarks
    return result
