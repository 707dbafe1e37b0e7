"""Is a typed value plausible? A pure check that catches typos before they are kept.

A coordinador who types ``2558350`` instead of ``255835`` (one key too many) or ``25583``
(one too few) is asked "¿Es correcto?" instead of being trusted. The real report shows that
honest values differ from the meta by up to ~3.5× (20,561 reconexiones against 6,000) and
from the previous month by ~3.3× (700 → 2,280 cortes), while a slipped digit is a factor of
10; the thresholds sit in between: more than 5× or less than a fifth of the meta, more than
4× or less than a quarter of the indicator's usual value (median of its history).

Percentage indicators (aggregation ``last``) are cumulative over the year (8.33 %, 16.66 %,
25 %...), so their meta is per period and comparing a cumulative value with it would warn
every month; for them a value above 100 % is questioned, and — when the meta is the period's
share of the year and the value is cumulative over ``cumulative_periods`` ≥ 2 periods — a
value under 1.5× the per-period meta (8.33 typed in October, where ~83 is expected): it looks
like the period's own share, not the cumulative figure.

A count (``whole``: RECIBOS, CORTES… with a whole-number meta) is never a fraction, so a value
with decimals on one is always questioned: ``3.04`` recibos is a misread ``3,040``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

META_FACTOR = Decimal(5)
HISTORY_FACTOR = Decimal(4)
MAX_PERCENT = Decimal(100)

FAR_FROM_META = "far_from_meta"
FAR_FROM_HISTORY = "far_from_history"
ZERO = "zero"
OVER_100_PERCENT = "over_100_percent"
FRACTION = "fraction"
PERIOD_SHARE = "period_share"
# Below this multiple of the per-period meta, a cumulative share-of-year value looks like the
# period's own share (half-way between one period's share and two periods' cumulative).
PERIOD_SHARE_FACTOR = Decimal("1.5")


@dataclass(frozen=True)
class Plausibility:
    reasons: tuple[str, ...]  # empty: plausible
    usual: Decimal | None  # the history's median, when there is history

    @property
    def ok(self) -> bool:
        return not self.reasons


def _far(value: Decimal, reference: Decimal, factor: Decimal) -> bool:
    return value > reference * factor or value * factor < reference


def check_plausibility(value: Decimal, meta: Decimal, history: Sequence[Decimal],
                       *, percent: bool, whole: bool = False,
                       cumulative_periods: int = 0) -> Plausibility:
    """Reasons to double-check ``value`` (none when it looks right).

    ``whole``: the indicator counts things (a fraction is questioned); ``cumulative_periods``:
    the value of a share-of-year % indicator is cumulative over that many periods."""
    reasons: list[str] = []
    if percent:
        if value > MAX_PERCENT:
            reasons.append(OVER_100_PERCENT)
        if cumulative_periods > 1 and 0 < value < meta * PERIOD_SHARE_FACTOR:
            reasons.append(PERIOD_SHARE)
        return Plausibility(tuple(reasons), None)
    if whole and value != value.to_integral_value():
        reasons.append(FRACTION)
    positive_history = [v for v in history if v > 0]
    usual = Decimal(median(positive_history)) if positive_history else None
    if value == 0 and (meta > 0 or usual is not None):
        reasons.append(ZERO)
    elif meta > 0 and _far(value, meta, META_FACTOR):
        reasons.append(FAR_FROM_META)
    if value != 0 and usual is not None and _far(value, usual, HISTORY_FACTOR):
        reasons.append(FAR_FROM_HISTORY)
    return Plausibility(tuple(reasons), usual)
