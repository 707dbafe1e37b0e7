"""The report flow's batch room: every pending value of a unit on one card, answered by one
message, one confirmation table, then only the questions that something needs.

Steps (stored in the conversation state, see :mod:`bot.services.conversation`):

* ``value`` with ``batch`` and ``ids`` (the pending indicators in the order shown): the card
  (:class:`AskValues`). Several values (:mod:`bot.services.batch_entry`) go to ``table``; one
  value is the one-at-a-time flow's answer for the first indicator, as before.
* ``table``: :class:`ConfirmBatch` with «Sí, guardar», «Sí, con observaciones» and
  «Corregir» (``r:bt:ok|obs|fix``). «Sí» saves every plausible, unambiguous value at once and
  queues what still needs a question, in card order: a reading to choose (``3.040``), an
  implausible value to confirm, a value someone else stored meanwhile, a justification
  (:mod:`bot.services.justification_step`) and, with «con observaciones», the remarks.
* the queued questions are the conversation's own steps (``choose``, ``confirm``, ``taken``,
  ``justify``, ``remarks``) with ``queue`` in the state; when one is settled
  :func:`next_in_queue` asks the next, and the last one ends in the summary.

Why a separate module: the batch is a new concern; ``conversation.py`` only calls
:func:`ask_list`, :func:`on_values`, :func:`on_button`, :func:`next_in_queue` and
:func:`current` at its hooks. This module never imports the conversation: the state and the
shared screens are :mod:`bot.services.flow_state`, and where the batch hands control back
(judge a queued value, ask the next pending values) it calls the :class:`~bot.services.
flow_state.Steps` the conversation passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from bot.domain.periods import Period
from bot.domain.plausibility import Plausibility
from bot.domain.typed_figures import Choice, FigureRules
from bot.services import flow_state, justification, justification_step, reporting
from bot.services.batch_entry import MAX_BATCH_TYPED, BatchRefusal, read_batch, split_answer
from bot.services.flow_state import Steps
from bot.services.registration import UnitView
from bot.services.reporting import IndicatorCard, ReportingError, ValueSlot, ValueTaken

# --- screens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShortCard:
    card: IndicatorCard
    meta: Decimal  # programmed for this period
    last_year: tuple[str, Decimal] | None  # (period code, value) of the same period a year ago


@dataclass(frozen=True)
class AskValues:
    """All pending values of a unit and period on one card."""

    unit: UnitView
    period: Period
    cards: tuple[ShortCard, ...]
    position: int  # of the first pending one among the unit's indicators
    total: int
    late_until: date | None = None  # said once: the period is late, values taken until then


@dataclass(frozen=True)
class BatchRow:
    card: IndicatorCard
    typed: str
    value: Decimal | None  # None: two readings, asked after «Sí»
    readings: tuple[Decimal, ...]
    check: Plausibility | None
    note: str = ""


@dataclass(frozen=True)
class ConfirmBatch:
    unit: UnitView
    period: Period
    rows: tuple[BatchRow, ...]


@dataclass(frozen=True)
class BatchSaved:
    saved: int
    questions: int


@dataclass(frozen=True)
class Descriptions:
    cards: tuple[IndicatorCard, ...]


@dataclass(frozen=True)
class RemarksNoted:
    card: IndicatorCard
    text: str


# --- the card ---------------------------------------------------------------------------------

def _short_cards(progress: reporting.UnitProgress, period: Period) -> tuple[ShortCard, ...]:
    """The card lines of the missing indicators, from their ``reporting.unit_progress``
    rows, which carry the period's programmed meta and last year's value."""
    before = period.year_before().code
    return tuple(ShortCard(card, row.meta if row.programmed is None else row.programmed,
                           None if row.last_year is None or period.kind == "Y"
                           else (before, row.last_year))
                 for card, row in zip(progress.missing_cards(period), progress.missing,
                                      strict=True))


def _late_until(turn, period: Period) -> date:
    return (turn.calendar.closes_at(period) - timedelta(days=1)).date()


def ask_list(session: Session, turn, unit: UnitView, period: Period,
             progress: reporting.UnitProgress) -> list:
    """The card of every indicator still missing (``progress.missing``, never empty here);
    ``unit`` is one the person answers for (own, or covered as a stand-in)."""
    indicators, position, total = progress.missing, progress.position, progress.total
    cards = _short_cards(progress, period)
    flow_state.set_step(session, turn, flow=flow_state.REPORT, step="value", unit=unit.clave,
                        period=period.code, indicator=indicators[0].id,
                        batch=1 if len(indicators) > 1 else 0, ids=[i.id for i in indicators])
    # The late notice is said once: on the first card of the period, not on every step.
    late = turn.calendar.is_late(period, turn.now) and position == 1
    return [AskValues(unit, period, cards, position, total,
                      _late_until(turn, period) if late else None)]


def _slots(session: Session, turn, state: dict) -> list[ValueSlot] | None:
    ids = state.get("ids") if isinstance(state.get("ids"), list) else None
    if not ids:
        return None
    slots = [flow_state.slot(session, turn, i, state.get("period")) for i in ids]
    return None if any(s is None for s in slots) else slots


# --- answers ----------------------------------------------------------------------------------

def on_values(session: Session, turn, state: dict, text: str) -> list | None:
    """Several values for the card's indicators: the confirmation table. ``None``: a single
    value (the one-at-a-time flow answers it)."""
    ids = state.get("ids")
    if (not isinstance(ids, list) or len(ids) < 2
            or (len(text or "") <= MAX_BATCH_TYPED and len(split_answer(text)) < 2)):
        return None  # one value (or one card line): nothing to load for a table
    slots = _slots(session, turn, state)
    if slots is None:
        return None
    period = slots[0].period
    rules = [FigureRules.for_card(s.card(), period) for s in slots]
    result = read_batch(text, rules)
    if result is None:
        return None
    if isinstance(result, BatchRefusal):
        return [flow_state.Refused(result.message)]  # the state is unchanged: nothing lost
    rows = []
    for slot, item in zip(slots, result, strict=True):
        if isinstance(item.figure, Choice):
            rows.append([slot.indicator.id, item.typed, None,
                         [str(v) for v in item.figure.readings], ""])
        else:
            rows.append([slot.indicator.id, item.typed, str(item.figure.value), [],
                         item.figure.note])
    flow_state.set_step(session, turn, **{**flow_state.base(state), "step": "table", "rows": rows})
    return [_table(slots, rows)]


def _table(slots: list[ValueSlot], rows: list) -> ConfirmBatch:
    result = []
    for slot, (_id, typed, value, readings, note) in zip(slots, rows, strict=True):
        card = slot.card()
        check = None
        if value is not None:
            check = FigureRules.for_card(card, slot.period).check(Decimal(value),
                                                                  slot.history_values())
        result.append(BatchRow(card, typed, Decimal(value) if value is not None else None,
                               tuple(Decimal(r) for r in readings), check, note))
    unit = UnitView(slots[0].unit.clave, slots[0].unit.nombre)
    return ConfirmBatch(unit, slots[0].period, tuple(result))


def on_button(session: Session, turn, state: dict, action: str, args: list[str],
              steps: Steps) -> list:
    """``r:bt:ok|obs|fix`` on the table; ``r:desc:<unidad>:<periodo>`` on the card."""
    if action == "desc" and len(args) == 2:
        unit = flow_state.unit_view(turn, args[0])
        period = reporting.parse_period_code(args[1])
        if unit is None or period is None:
            return [flow_state.Stale()]
        # Names and descriptions only: no value is shown, so none is read.
        return [Descriptions(tuple(
            reporting.indicator_card(indicator, unit, period, None, None)
            for indicator in reporting.unit_indicators(session, unit.clave, period)))]
    if (action != "bt" or len(args) != 1 or args[0] not in ("ok", "obs", "fix")
            or state.get("flow") != flow_state.REPORT or state.get("step") != "table"
            or not isinstance(state.get("rows"), list)):
        return [flow_state.Stale()]
    slots = _slots(session, turn, state)
    unit = flow_state.unit_view(turn, str(state.get("unit")))
    if slots is None or unit is None:
        flow_state.clear(session, turn)
        return [flow_state.Stale()]
    period = slots[0].period
    if args[0] == "fix":
        return steps.ask_next(session, turn, unit, period)
    return _save_all(session, turn, state, unit, slots, steps, obs=args[0] == "obs")


def _save_all(session: Session, turn, state: dict, unit: UnitView, slots: list[ValueSlot],
              steps: Steps, *, obs: bool) -> list:
    """«Sí»: save what needs no question; queue the rest in card order."""
    queue, saved = [], 0
    for slot, (indicator_id, typed, value, readings, _note) in zip(slots, state["rows"],
                                                                   strict=True):
        if value is None:
            queue.append([indicator_id, "d", typed, readings])
            continue
        value = Decimal(value)
        if slot.stored is not None:  # stored by someone since the card was shown
            if slot.stored.value != value:
                queue.append([indicator_id, "t", str(value)])
            continue
        check = FigureRules.for_card(slot.card(), slot.period).check(value,
                                                                     slot.history_values())
        if not check.ok:
            queue.append([indicator_id, "c", str(value)])
            continue
        try:
            reporting.save_value(session, slot, value, person_id=turn.person.id,
                                 now=turn.now, calendar=turn.calendar)
        except ValueTaken:
            queue.append([indicator_id, "t", str(value)])
            continue
        except ReportingError as error:
            flow_state.clear(session, turn)
            return [flow_state.Refused(str(error))]
        saved += 1
        assessment = justification.assess(session, slot.indicator, slot.period, value,
                                          turn.bands, slot.all_earlier(),
                                          slot.ficha_and_calendar(session, turn.bands))
        if justification.needs_asking(session, slot.indicator.id, slot.period.code,
                                      assessment):
            queue.append([indicator_id, "j"])
        elif obs:
            queue.append([indicator_id, "o"])
    base = {"flow": flow_state.REPORT, "unit": unit.clave, "period": slots[0].period.code,
            "indicator": slots[0].indicator.id, "queue": queue, "obs": 1 if obs else 0}
    head = [BatchSaved(saved, len(queue))] if queue else []
    return [*head, *next_in_queue(session, turn, base, unit.clave, slots[0].period, steps)]


def next_in_queue(session: Session, turn, state: dict, clave: str, period: Period,
                  steps: Steps) -> list:
    """The next question a batch still needs; the summary when none is left."""
    queue = list(state.get("queue") or [])
    obs = state.get("obs", 0)
    while queue:
        item = queue.pop(0)
        slot = flow_state.slot(session, turn, item[0], period.code)
        if slot is None or not isinstance(item, list) or len(item) < 2:
            continue
        base = {"flow": flow_state.REPORT, "unit": clave, "period": period.code,
                "indicator": slot.indicator.id, "queue": queue, "obs": obs}
        card, kind = slot.card(), item[1]
        if kind == "d" and slot.stored is None and len(item) == 4:
            flow_state.set_step(session, turn, **base, step="choose", typed=item[2],
                                readings=item[3])
            return [flow_state.ChooseReading(flow_state.REPORT, card, item[2],
                                             tuple(Decimal(v) for v in item[3]))]
        if kind in ("c", "t") and len(item) == 3:
            return steps.judge(session, turn, base, slot, Decimal(item[2]))
        if kind == "j" and slot.stored is not None:
            return justification_step.ask(session, turn, base, slot)
        if kind == "o" and slot.stored is not None:
            flow_state.set_step(session, turn, **base, step="remarks")
            return [flow_state.AskRemarks(card, slot.stored.value, False, saved_now=False)]
    unit = flow_state.unit_view(turn, clave)
    if unit is None:
        flow_state.clear(session, turn)
        return [flow_state.Stale()]
    return steps.ask_next(session, turn, unit, period)


def remarks_noted(slot: ValueSlot, text: str) -> list:
    """Remarks are echoed (shortened) so the person sees what was kept."""
    return [RemarksNoted(slot.card(), text)] if text else []


def current(session: Session, turn, state: dict, steps: Steps) -> list:
    """The card or the table, asked again (resume)."""
    slots = _slots(session, turn, state)
    unit = flow_state.unit_view(turn, str(state.get("unit")))
    if slots is None or unit is None:
        return []
    if state.get("step") == "table" and isinstance(state.get("rows"), list):
        return [_table(slots, state["rows"])]
    period = slots[0].period
    if any(s.stored is not None for s in slots):
        # Stored meanwhile (a colleague, a stand-in, an import): a fresh card, so that the
        # numbers shown and the stored ``ids`` the answer is read against agree again.
        return steps.ask_next(session, turn, unit, period)
    progress = reporting.unit_progress(session, unit.clave, period)
    if [row.id for row in progress.missing] != [slot.indicator.id for slot in slots]:
        return steps.ask_next(session, turn, unit, period)  # the catalog changed meanwhile
    return [AskValues(unit, period, _short_cards(progress, period), progress.position,
                      progress.total)]
