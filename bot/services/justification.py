"""The *justificación de la variación*: asked when a confirmed value leaves green.

A value leaves green when, by its ficha (:mod:`bot.services.fichas`), either

* **the period**: the value against the meta programmed for that period, or
* **the year to date**: the figure accumulated by the ficha's ``acumulacion`` over the
  year's reported periods up to this one, against the metas programmed to date
  of the periods reported (Σ for ``suma``, their mean for ``promedio``; every period to date
  for ``acumulado``, whose figure already includes them; the period's own meta for ``ultimo``)

is yellow or red (:func:`bot.domain.fichas.is_off_green`). Then the person must say the
cause and what will be done; it is stored in ``justifications`` (append-only: the latest row
of an indicator and period is the one in force) and exported with the report (column
JUSTIFICACIÓN of the CSV, sheet «Justificaciones» of the workbook). A correction that changes
the state asks again; one that brings the value back to green asks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.domain.attainment import Bands, Status
from bot.domain.fichas import (
    Acumulacion,
    FichaRules,
    accumulate,
    is_off_green,
    programmed_to_date,
    state,
)
from bot.domain.periods import Period
from bot.domain.remarks import means_no_remarks
from bot.services.fichas import FichaView, ficha_and_calendar, programmed_meta
from storage.models import Indicator, Justification, ReportedValue

MIN_LENGTH = 10  # characters: a cause and an action do not fit in less
MAX_LENGTH = 1000


@dataclass(frozen=True)
class Assessment:
    period_state: Status
    cumulative_state: Status
    # What the states compared, for the person who must justify them: the meta of the period
    # (programmed, or to date for a figure already cumulative) and the year-to-date figure
    # and its target.
    period_meta: Decimal
    year_figure: Decimal
    year_target: Decimal
    # The ficha read for the states also says whether the value needs evidence: the flow
    # says so when it asks for the remarks, without reading the ficha again.
    evidence_required: bool = False

    @property
    def off_green(self) -> bool:
        return is_off_green(self.period_state) or is_off_green(self.cumulative_state)

    @property
    def code(self) -> str:
        """Stored with the justification; a correction with another code asks again."""
        return f"periodo:{self.period_state.value} acumulado:{self.cumulative_state.value}"

    @property
    def which(self) -> str:
        """Spanish: what left green."""
        period, cumulative = (is_off_green(self.period_state),
                              is_off_green(self.cumulative_state))
        if period and cumulative:
            return "el periodo y el acumulado del año"
        return "el periodo" if period else "el acumulado del año"


def _periods_to(period: Period) -> list[Period]:
    return [Period._of_kind(period.year, period.kind, i) for i in range(1, period.index + 1)]


def target_to_date(metas: dict[int, Decimal], index: int, acumulacion: Acumulacion,
                   reported: Iterable[int]) -> Decimal:
    """What the year-to-date figure is compared with, by the ficha's accumulation.

    ``suma``/``promedio`` add up (average) the metas of the periods that have a value, so a
    period nobody reported (the bot started mid-year) does not count as zero; ``acumulado``
    values already include the earlier periods, so all metas to date count; ``ultimo`` is
    the period's own meta."""
    if acumulacion is Acumulacion.ACUMULADO:
        return programmed_to_date(metas, index)
    if acumulacion is Acumulacion.ULTIMO:
        return metas.get(index, Decimal(0))
    to_date = [metas[i] for i in reported if i <= index and i in metas]
    if acumulacion is Acumulacion.PROMEDIO:
        return sum(to_date, Decimal(0)) / len(to_date) if to_date else Decimal(0)
    return sum(to_date, Decimal(0))


def assess_values(rules: FichaRules, metas: dict[int, Decimal], index: int,
                  values: dict[int, Decimal]) -> Assessment:
    """Pure: the period's and the year-to-date state of ``values[index]`` (values and metas
    by period index in the year)."""
    value = values[index]
    if rules.acumulacion is Acumulacion.ACUMULADO:  # the figure typed is already cumulative
        period_meta = programmed_to_date(metas, index)
    else:
        period_meta = metas[index]
    reported = sorted(i for i in values if i <= index)
    ytd = accumulate([values[i] for i in reported], rules.acumulacion)
    target = target_to_date(metas, index, rules.acumulacion, reported)
    year_figure = ytd if ytd is not None else value
    return Assessment(state(value, period_meta, rules), state(year_figure, target, rules),
                      period_meta, year_figure, target)


def assess(session: Session, indicator: Indicator, period: Period, value: Decimal,
           bands: Bands, earlier: list[ReportedValue] | None = None,
           read: tuple[FichaView, dict[str, Decimal]] | None = None) -> Assessment:
    """The state of ``value`` as the indicator's value for ``period`` (the other periods of
    the year as stored; ``earlier``: all of them, already read by the step; ``read``: the
    indicator's ficha and calendar, when the step has them: ValueSlot.ficha_and_calendar)."""
    ficha, calendar = read or ficha_and_calendar(session, indicator, bands)
    rules = ficha.rules
    periods = _periods_to(period)
    metas = {p.index: programmed_meta(indicator, calendar, p.code) for p in periods}
    codes = {p.code: p.index for p in periods}
    if earlier is None:
        earlier = session.exec(select(ReportedValue).where(
            ReportedValue.indicator_id == indicator.id,
            col(ReportedValue.period).in_(list(codes)))).all()
    values = {codes[row.period]: row.value for row in earlier if row.period in codes}
    values[period.index] = value
    return replace(assess_values(rules, metas, period.index, values),
                   evidence_required=ficha.evidencia_obligatoria)


def latest(session: Session, indicator_id: int, period_code: str) -> Justification | None:
    return session.exec(select(Justification).where(
        Justification.indicator_id == indicator_id, Justification.period == period_code)
        .order_by(col(Justification.id).desc())).first()


def needs_asking(session: Session, indicator_id: int, period_code: str,
                 assessment: Assessment) -> bool:
    """Off green and not already justified in this very state."""
    if not assessment.off_green:
        return False
    current = latest(session, indicator_id, period_code)
    return current is None or current.state != assessment.code


def refusal(text: str) -> str | None:
    """Spanish reason to refuse a justification text, or None if it will do."""
    if means_no_remarks(text) or len(text) < MIN_LENGTH:
        return ("La justificación es obligatoria: escribe en una o dos frases la causa de la "
                "variación y qué se hará para corregirla.")
    if len(text) > MAX_LENGTH:
        return (f"La justificación tiene {len(text):,} caracteres y el máximo es "
                f"{MAX_LENGTH:,}: resúmela y envíala de nuevo.")
    return None


def save(session: Session, indicator_id: int, period_code: str, text: str, *,
         person_id: int | None, now: datetime, assessment: Assessment) -> Justification:
    row = Justification(indicator_id=indicator_id, period=period_code, text=text,
                        person_id=person_id, at=now, state=assessment.code)
    session.add(row)
    return row


def in_force(session: Session, indicator_ids: Iterable[int],
             period_codes: Iterable[str]) -> dict[tuple[int, str], str]:
    """The justification in force per (indicator id, period code), for the export."""
    ids, codes = list(indicator_ids), list(period_codes)
    result: dict[tuple[int, str], str] = {}
    if not ids or not codes:
        return result
    for start in range(0, len(ids), 500):
        rows = session.exec(select(Justification).where(
            col(Justification.indicator_id).in_(ids[start:start + 500]),
            col(Justification.period).in_(codes)).order_by(col(Justification.id)))
        for row in rows:
            result[(row.indicator_id, row.period)] = row.text  # later rows win
    return result
