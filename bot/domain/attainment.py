"""The attainment engine: how a reported figure compares with its meta. Pure, Decimal only.

All results are *percent points* at full Decimal precision (``Decimal('8.3333…')``);
rounding to two decimals happens only when a figure is shown (:func:`bot.domain.numbers.
round_display`). Statuses are decided on the unrounded figure, so 99.999 % is CLOSE even
though it displays as ``100.00%``.

Rules (the POA workbook's own arithmetic, see ``/work/shared/poa/README.md``):

* **Period attainment** = value ÷ meta × 100 (``None`` when the meta is 0).
* **Cumulative progress** against the annual target:
  ``'sum'`` indicators (counts): Σ(values of the year so far) ÷ (meta × periods per year) × 100;
  ``'last'`` indicators (unit ``%``): the latest value, which already is a percentage.
* **Expected progress** = months from 1 January through the end of the period ÷ 12 × 100
  (8.33… for January, 25 for March / Q1, 50 for S1, 100 for the year).
* **Percentage indicators** (aggregation ``'last'``): when the per-period meta is the
  period's share of the year (meta × periods per year = 100 %, e.g. 8.33 % a month, as 306
  INSPECCION), the reported value is cumulative (8.33 %, 16.66 %, 25 %), so its attainment
  compares it with the meta accumulated to that period: value ÷ (meta × periods elapsed).
  Any other percentage indicator is a rate (e.g. "95 % de lecturas") and compares with its
  meta directly, like a count. See :func:`percent_attainment`.
* **Traffic light** (:class:`Status`, :class:`Bands`): ABOVE > 100 %; ON_TARGET from the
  green band (default 100) to 100 % inclusive; CLOSE from the yellow band (default 80) up
  to the green band; BEHIND below yellow; MISSING = due and not reported; NOT_DUE = not yet
  due and not reported. A zero meta is met by any report (ABOVE if the value is positive,
  ON_TARGET if it is zero).
* **Completeness** = reported ÷ due; **timeliness** = reported by the deadline ÷ due;
  both ratios in [0, 1], ``None`` when nothing is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.domain.calendar import EVERY_DAY, BusinessDays
from bot.domain.calendar import deadline_for as reporting_deadline
from bot.domain.periods import Period

HUNDRED = Decimal(100)
AGGREGATE_SUM = "sum"
AGGREGATE_LAST = "last"
# How far meta × periods-per-year may be from 100 for a % meta to count as "share of the
# year": the workbook writes the monthly share as 8.33 % (× 12 = 99.96).
SHARE_OF_YEAR_TOLERANCE = Decimal(1)


class Status(StrEnum):
    """Traffic-light status of one indicator in one period; values are stable codes."""

    ABOVE = "above"
    ON_TARGET = "on_target"
    CLOSE = "close"
    BEHIND = "behind"
    MISSING = "missing"
    NOT_DUE = "not_due"

    @property
    def label(self) -> str:
        """Short Spanish label for people."""
        return _STATUS_LABELS[self]

    @property
    def light(self) -> str:
        """An emoji for chat renderings (blue above, green, yellow, red, white missing)."""
        return _STATUS_LIGHTS[self]


_STATUS_LABELS = {
    Status.ABOVE: "Arriba de la meta",
    Status.ON_TARGET: "En meta",
    Status.CLOSE: "Cerca de la meta",
    Status.BEHIND: "Por debajo",
    Status.MISSING: "Sin reportar",
    Status.NOT_DUE: "Aún no vence",
}
_STATUS_LIGHTS = {
    Status.ABOVE: "🔵", Status.ON_TARGET: "🟢", Status.CLOSE: "🟡",
    Status.BEHIND: "🔴", Status.MISSING: "⚪", Status.NOT_DUE: "▫️",
}

# Display order (best first, then the problems); renderers and counts use it.
STATUS_ORDER = (Status.ABOVE, Status.ON_TARGET, Status.CLOSE, Status.BEHIND,
                Status.MISSING, Status.NOT_DUE)


@dataclass(frozen=True)
class Bands:
    """Traffic-light thresholds in percent of the meta (``POA_BAND_GREEN`` / ``_YELLOW``)."""

    green: Decimal = Decimal(100)
    yellow: Decimal = Decimal(80)

    def __post_init__(self) -> None:
        green, yellow = Decimal(self.green), Decimal(self.yellow)
        if not Decimal(0) <= yellow <= green <= HUNDRED:
            raise ValueError(
                f"bandas inválidas: se requiere 0 ≤ amarillo ({yellow}) ≤ verde ({green}) ≤ 100")
        object.__setattr__(self, "green", green)
        object.__setattr__(self, "yellow", yellow)


DEFAULT_BANDS = Bands()


def period_attainment(value: Decimal, meta: Decimal) -> Decimal | None:
    """value ÷ meta × 100 in percent points; ``None`` when the meta is 0."""
    if meta == 0:
        return None
    return value * HUNDRED / meta


def is_share_of_year(meta: Decimal, periods_per_year: int) -> bool:
    """True when a % meta is the period's share of the year (8.33 % a month, 25 % a quarter)."""
    return abs(meta * periods_per_year - HUNDRED) <= SHARE_OF_YEAR_TOLERANCE


def percent_attainment(value: Decimal, meta: Decimal, periods_per_year: int,
                       periods_elapsed: int) -> Decimal | None:
    """Attainment of a percentage ('last') indicator in its ``periods_elapsed``-th period.

    A share-of-year meta means the value is cumulative, so it is compared with the meta
    accumulated so far (25 % in March against 8.33 % × 3 is 100 %); a rate is compared with
    its meta as is.
    """
    if is_share_of_year(meta, periods_per_year):
        return period_attainment(value, meta * periods_elapsed)
    return period_attainment(value, meta)


def cumulative_progress(values: Sequence[Decimal], meta: Decimal, periods_per_year: int,
                        aggregation: str = AGGREGATE_SUM) -> Decimal | None:
    """Progress against the annual target, in percent points.

    ``values`` are the year's values so far in period order. ``'sum'``: Σ ÷ (meta ×
    periods_per_year) × 100, 0 when nothing was reported, ``None`` when the meta is 0.
    ``'last'``: the last value (already a percentage), ``None`` when there is none.
    """
    if aggregation == AGGREGATE_LAST:
        return Decimal(values[-1]) if values else None
    if aggregation != AGGREGATE_SUM:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    if meta == 0:
        return None
    total = sum(values, Decimal(0))
    return total * HUNDRED / (meta * periods_per_year)


def aggregate_values(values: Sequence[Decimal], aggregation: str) -> Decimal | None:
    """A value over several of the indicator's periods: Σ for 'sum', the last for 'last'."""
    if not values:
        return None
    if aggregation == AGGREGATE_LAST:
        return Decimal(values[-1])
    return sum(values, Decimal(0))


def expected_progress(period: Period) -> Decimal:
    """Months from 1 January through ``period.end`` ÷ 12 × 100 (25 for March or Q1)."""
    return Decimal(period.end.month) * HUNDRED / 12


def status_for(attainment: Decimal | None, bands: Bands = DEFAULT_BANDS) -> Status:
    """Band an attainment (percent points). ``None`` (meta 0) counts as on target."""
    if attainment is None:
        return Status.ON_TARGET
    return one_sided_band(attainment, bands.green, bands.yellow)


def one_sided_band(percent: Decimal, green: Decimal, yellow: Decimal) -> Status:
    """Above 100 %, from ``green``, from ``yellow``, or below: the global bands and a ficha's
    one-sided semáforo alike."""
    if percent > HUNDRED:
        return Status.ABOVE
    if percent >= green:
        return Status.ON_TARGET
    if percent >= yellow:
        return Status.CLOSE
    return Status.BEHIND


def line_status(value: Decimal | None, attainment: Decimal | None, *, due: bool,
                complete: bool, bands: Bands = DEFAULT_BANDS) -> Status:
    """Status of a summary line.

    ``due``: at least one of its periods is due; ``complete``: every due period has a value.
    A missing due period makes the line MISSING even if other periods were reported; an
    early report of a period not yet due is banded like any other.
    """
    if due and not complete:
        return Status.MISSING
    if value is None:
        return Status.NOT_DUE
    if attainment is None:  # zero meta: any report meets it
        return Status.ABOVE if value > 0 else Status.ON_TARGET
    return status_for(attainment, bands)


def completeness(reported: int, due: int) -> Decimal | None:
    """reported ÷ due as a ratio in [0, 1]; ``None`` when nothing is due."""
    return _ratio(reported, due)


def timeliness(on_time: int, due: int) -> Decimal | None:
    """reported-by-the-deadline ÷ due as a ratio in [0, 1]; ``None`` when nothing is due."""
    return _ratio(on_time, due)


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole < 0 or part < 0 or part > whole:
        raise ValueError(f"invalid ratio {part}/{whole}")
    if whole == 0:
        return None
    return Decimal(part) / Decimal(whole)


def is_due(period: Period, today: date) -> bool:
    """A period is due (can and should be reported) once it has ended."""
    return period.end < today


def is_overdue(period: Period, today: date, deadline_day: int,
               business_days: BusinessDays = EVERY_DAY) -> bool:
    """Unreported after its deadline day (moved off weekends and holidays by
    ``business_days``, as the reminders' calendar does): late."""
    return today > reporting_deadline(period, deadline_day, business_days)
