"""Is a typed value plausible? A pure check that catches typos before they are kept.

A coordinador who types ``2558350`` instead of ``255835`` (one key too many) or ``25583``
(one too few) is asked "¿Es correcto?" instead of being trusted. The real report shows that
honest values differ from the meta by up to ~3.5× (20,561 reconexiones against 6,000) and
from the previous month by ~3.3× (700 → 2,280 cortes), while a slipped digit is a factor of
10; the thresholds sit in between: more than 5× or less than a fifth of the meta, more than
4× or less than a quarter of the indicator's usual value (median of its history).

Percentage indicators (aggregation ``last``) are cumulative over the year (8.33 %, 16.66 %,
25 %...), so their meta is per period and comparing a cumulative value with it would warn
every month; for them only a value above 100 % is questioned.
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
                       *, percent: bool) -> Plausibility:
    """Reasons to double-check ``value`` (none when it looks right)."""
    if percent:
        reasons = (OVER_100_PERCENT,) if value > MAX_PERCENT else ()
        return Plausibility(reasons, None)
    reasons: list[str] = []
    positive_history = [v for v in history if v > 0]
    usual = Decimal(median(positive_history)) if positive_history else None
    if value == 0 and (meta > 0 or usual is not None):
        reasons.append(ZERO)
    elif meta > 0 and _far(value, meta, META_FACTOR):
        reasons.append(FAR_FROM_META)
    if value != 0 and usual is not None and _far(value, usual, HISTORY_FACTOR):
        reasons.append(FAR_FROM_HISTORY)
    return Plausibility(tuple(reasons), usual)
