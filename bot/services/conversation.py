"""The reporting and correction conversations as a state machine stored in the database.

Where a person is (which unit, period and indicator, and what the bot is waiting for) is a
small JSON document in ``conversations`` keyed by chat. Every step runs in ONE transaction
that reads the state, does the work (e.g. saves the value) and writes the next state, and it
also records the Telegram ``update_id`` in ``processed_updates``. Consequences:

* a ``kill -9`` at any instant leaves either the old state and no value, or the new state and
  the value — never a value without the state that follows it, so after a restart the next
  message is understood exactly as it would have been;
* an update Telegram delivers twice (the bot died before confirming it) is applied once;
* nothing lives in memory, so any number of processes/restarts agree.

The functions here take a :class:`Turn` (who, which chat, which update, when) and return
*screens* — plain dataclasses saying what to show. ``handlers/reporting.py`` renders them in
Spanish. Button data is validated here against the person's units, the periods open now and
the stored state, so a forged or stale button is refused and changes nothing.

Steps (``state["step"]``) of the report flow (``r``) and the correction flow (``c``):

* ``unit`` → ``period``: chosen with buttons, and skipped when there is one choice (one unit,
  one open period: straight to the values);
* ``value``: report — every pending value of the unit on one card (``batch`` and ``ids``,
  :mod:`bot.services.batch_flow`); one value answers the first of them, several go to
  ``table``. Correction — the one value picked at ``indicator``;
* ``table``: the batch's confirmation table (Sí, guardar / Sí, con observaciones / Corregir);
* ``choose`` (``3.040``: which reading), ``confirm`` (an implausible value), ``taken``
  (someone stored a value meanwhile: keep it or change it) — before anything is saved;
* ``justify``: the *justificación de la variación* when a saved value leaves green
  (:mod:`bot.services.justification_step`), then ``remarks`` (report) or the end
  (correction);
* ``reason``: why a correction changes the value (saved with the value);
* ``queue`` (with any of the above): the questions a saved batch still needs, in card order;
  :func:`settled` asks the next one, and the last ends in the :class:`Summary`.

Why one file of ~700 lines: the steps of the report and correction flows read and write the
same state document, and each step's validity depends on the step before it (``value`` →
``choose``/``confirm``/``taken`` → ``justify``/``remarks``/``reason``); keeping every
transition and the screens they return side by side is what lets a reader check that no
path saves without the state that follows it. What is not a transition lives elsewhere:
the batch card, table and queue in ``bot.services.batch_flow`` (reading a batch in
``bot.services.batch_entry``), the justification step in
``bot.services.justification_step``, reading typed figures in ``bot.domain.typed_figures``,
saving and history in ``bot.services.reporting``, who stored a value in
``bot.services.ownership``, remarks in ``bot.domain.remarks``. The :class:`Turn`, the stored
state and the screens the step rooms return live in ``bot.services.flow_state`` (re-exported
here); the rooms (``batch_flow``, ``justification_step``) import that, never this module,
and get the transitions they hand control back to as :data:`STEPS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from bot.domain.periods import Period
from bot.domain.plausibility import Plausibility
from bot.domain.remarks import means_no_remarks
from bot.domain.short_names import display_name
from bot.domain.typed_figures import Choice, FigureRules, Refusal, read_figure
from bot.services import batch_flow, evidence, justification_step, ownership, reporting
from bot.services.flow_state import (  # shared with the step rooms; re-exported for handlers
    CORRECT,
    REPORT,
    AskRemarks,
    ChooseReading,
    Refused,
    Stale,
    Steps,
    Turn,
    claim_and_load,
    claim_update,
    load_state,
    printable,
)
from bot.services.flow_state import base as _base
from bot.services.flow_state import clear as _clear
from bot.services.flow_state import set_step as _set
from bot.services.flow_state import slot as _slot
from bot.services.flow_state import state_slot as _state_slot
from bot.services.flow_state import unit_view as _unit_view
from bot.services.registration import UnitView
from bot.services.reporting import (
    MAX_REMARKS,
    IndicatorCard,
    ReportingError,
    SummaryRow,
    ValueSlot,
    ValueTaken,
)

# --- screens (what to show; rendered by handlers.reporting) --------------------------------

@dataclass(frozen=True)
class ChooseUnit:
    flow: str
    units: tuple[UnitView, ...]


@dataclass(frozen=True)
class ChoosePeriod:
    flow: str
    unit: UnitView
    periods: tuple[tuple[Period, int], ...]  # (period, pending or stored count)


@dataclass(frozen=True)
class NothingToDo:
    flow: str
    unit: UnitView | None


@dataclass(frozen=True)
class AskValue:
    card: IndicatorCard
    position: int  # 1-based, among the unit's indicators of the period
    total: int
    correcting: bool
    again: bool = False  # asked again after a refusal: a short prompt is enough
    problem: str = ""  # why the last answer was refused (Spanish), shown with the prompt


@dataclass(frozen=True)
class AskConfirm:
    flow: str
    card: IndicatorCard
    value: Decimal
    check: Plausibility
    note: str = ""  # how the text was read, when not obvious (typed_figures.Reading.note)


@dataclass(frozen=True)
class AskReason:
    card: IndicatorCard
    old: Decimal | None
    new: Decimal
    note: str = ""


@dataclass(frozen=True)
class ChooseIndicator:
    unit: UnitView
    period: Period
    rows: tuple[SummaryRow, ...]


@dataclass(frozen=True)
class Summary:
    unit: UnitView
    period: Period
    rows: tuple[SummaryRow, ...]
    # (indicator id, short name) of values still owing the evidence their ficha requires
    evidence_owed: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Corrected:
    card: IndicatorCard
    old: Decimal | None
    new: Decimal
    reason: str


@dataclass(frozen=True)
class RemarksTooLong:
    length: int
    flow: str = REPORT


@dataclass(frozen=True)
class Cancelled:
    had_flow: bool


@dataclass(frozen=True)
class Resume:
    """Precedes the current question when reminding a person where they were."""


@dataclass(frozen=True)
class NoFlow:
    """Text arrived while no question was asked ("ya quedó?", "¿cómo vamos?"): answered with
    the person's status instead of a shrug."""

    pending: PendingList | None = None  # coordinadores: what they still owe
    accepted_until: date | None = None  # last day the earliest pending period takes values
    late: bool = False  # that period's deadline has passed (grace days or a reopening)
    ignored_figure: str = ""  # the text, when it looked like a value: say it was not saved


@dataclass(frozen=True)
class NotForRole:
    command: str


@dataclass(frozen=True)
class Duplicate:
    """The update was already applied (Telegram delivered it again): show nothing."""


@dataclass(frozen=True)
class Taken:
    """The value the person typed was not stored: the indicator already has one.
    ``yours`` equal to ``owner.value``: nothing to decide, the flow goes on; otherwise the
    person keeps the stored value or corrects it, with a reason."""

    flow: str
    card: IndicatorCard
    owner: ownership.Owner
    yours: Decimal

    @property
    def same(self) -> bool:
        return self.owner.value == self.yours


@dataclass(frozen=True)
class Kept:
    """The person chose to keep the stored value."""

    card: IndicatorCard
    value: Decimal


@dataclass(frozen=True)
class PendingUnit:
    unit: UnitView
    periods: tuple[tuple[Period, tuple[str, ...]], ...]  # (period, names of pending ones)
    # (period, names) with a value but without the evidence their ficha makes mandatory
    evidence: tuple[tuple[Period, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class PendingList:
    units: tuple[PendingUnit, ...] = field(default_factory=tuple)


# --- helpers ---------------------------------------------------------------------------------

def _position(session: Session, slot: ValueSlot) -> tuple[int, int]:
    indicators = reporting.unit_indicators(session, slot.unit.clave, slot.period)
    ids = [i.id for i in indicators]
    return (ids.index(slot.indicator.id) + 1 if slot.indicator.id in ids else 1), len(ids)


def _ask_again(session: Session, slot: ValueSlot, flow: str, problem: str = "") -> AskValue:
    position, total = _position(session, slot)
    return AskValue(slot.card(), position, total, correcting=flow == CORRECT, again=True,
                    problem=problem)


# --- starting ---------------------------------------------------------------------------------

def start_report(session: Session, turn: Turn) -> list:
    state = claim_and_load(session, turn)
    if state is None:
        return [Duplicate()]
    if not turn.person.is_coordinador:
        return [NotForRole("reportar")]
    if state.get("flow") == REPORT and state.get("step") in ("value", "confirm", "choose",
                                                             "remarks", "taken", "reason",
                                                             "table", "justify"):
        return [Resume(), *current_question(session, turn, state)]
    return _begin(session, turn, REPORT)


def start_correct(session: Session, turn: Turn) -> list:
    if not claim_update(session, turn.update_id, turn.now):
        return [Duplicate()]
    if not turn.person.is_coordinador:
        return [NotForRole("corregir")]
    return _begin(session, turn, CORRECT)


def _begin(session: Session, turn: Turn, flow: str) -> list:
    units = turn.person.units
    if not units:
        _clear(session, turn)
        return [NothingToDo(flow, None)]
    if flow == REPORT:  # only units that owe something; none: said at once
        units = tuple(u for u in units if reporting.reportable_periods_for_unit(
            session, turn.person.id, u.clave, turn.now, turn.calendar))
        if not units:
            _clear(session, turn)
            return [NothingToDo(flow, None)]
    if len(units) > 1:
        _set(session, turn, flow=flow, step="unit")
        return [ChooseUnit(flow, units)]
    return _choose_period(session, turn, flow, units[0])


def _choose_period(session: Session, turn: Turn, flow: str, unit: UnitView) -> list:
    if flow == REPORT:
        periods = reporting.reportable_periods_for_unit(
            session, turn.person.id, unit.clave, turn.now, turn.calendar)
    else:
        periods = [(p, 0) for p in reporting.correctable_periods_for_unit(
            session, unit.clave, turn.now, turn.calendar)]
    if not periods:
        _clear(session, turn)
        return [NothingToDo(flow, unit)]
    if len(periods) == 1:  # nothing to choose: go to the values
        if flow == REPORT:
            return _ask_next(session, turn, unit, periods[0][0], open_checked=True)
        return _choose_indicator(session, turn, unit, periods[0][0])
    _set(session, turn, flow=flow, step="period", unit=unit.clave)
    return [ChoosePeriod(flow, unit, tuple(periods))]


def _ask_next(session: Session, turn: Turn, unit: UnitView, period: Period, *,
              open_checked: bool = False) -> list:
    """The next pending indicator of the unit for the period, or the summary when done.
    ``open_checked``: this step has already checked that the period is open for the unit."""
    if not open_checked:
        try:
            reporting.ensure_open(session, period, unit.clave, turn.now, turn.calendar)
        except ReportingError as error:
            _clear(session, turn)
            return [Refused(str(error))]
    progress = reporting.unit_progress(session, unit.clave, period)
    if not progress.missing:
        _clear(session, turn)
        rows = reporting.summary_rows(session, unit.clave, period)
        owed = evidence.lacking_in_unit(session, unit.clave, period)
        return [Summary(unit, period, tuple(rows), tuple(owed))]
    # Every pending value on one card (batch_flow); one value answers the first of them.
    return batch_flow.ask_list(session, turn, unit, period, progress)


def _choose_indicator(session: Session, turn: Turn, unit: UnitView, period: Period) -> list:
    rows = [r for r in reporting.summary_rows(session, unit.clave, period) if r.value is not None]
    if not rows:
        _clear(session, turn)
        return [NothingToDo(CORRECT, unit)]
    _set(session, turn, flow=CORRECT, step="indicator", unit=unit.clave, period=period.code)
    return [ChooseIndicator(unit, period, tuple(rows))]


def _pick_for_correction(session: Session, turn: Turn, indicator_id, period_code) -> list:
    slot = _slot(session, turn, indicator_id, period_code)
    if slot is None or slot.stored is None:
        return [Stale()]
    try:
        reporting.ensure_open(session, slot.period, slot.unit.clave, turn.now, turn.calendar,
                              slot.lock_overrides)
    except ReportingError as error:
        return [Refused(str(error))]
    _set(session, turn, flow=CORRECT, step="value", unit=slot.unit.clave,
         period=slot.period.code, indicator=slot.indicator.id)
    position, total = _position(session, slot)
    return [AskValue(slot.card(), position, total, correcting=True)]


# --- answers ----------------------------------------------------------------------------------

def on_text(session: Session, turn: Turn, text: str) -> list:
    """A text message (not a command): the answer to whatever question is open."""
    state = claim_and_load(session, turn)
    if state is None:
        return [Duplicate()]
    step = state.get("step")
    if step == "value" and state.get("batch"):
        screens = batch_flow.on_values(session, turn, state, text)
        if screens is not None:
            return screens
    if step in ("value", "confirm", "choose"):
        return _on_value(session, turn, state, text)
    if step == "justify":
        return justification_step.on_text(session, turn, state, text, STEPS)
    if step == "remarks":
        return _on_remarks(session, turn, state, text)
    if step == "reason":
        return _on_reason(session, turn, state, text)
    if step in ("unit", "period", "indicator", "taken", "table"):
        return [Refused("Elige una opción con los botones de arriba."),
                *current_question(session, turn, state)]
    figure = text.strip() if any(ch.isdigit() for ch in text) else ""
    return [status(session, turn, figure[:40])]


def status(session: Session, turn: Turn, ignored_figure: str = "") -> NoFlow:
    """Where the person stands: what is pending and until when (coordinadores)."""
    if not turn.person.is_coordinador:
        return NoFlow(ignored_figure=ignored_figure)
    pending = pending_list(session, turn)[0]
    periods = [period for unit in pending.units for period, _names in unit.periods]
    if not periods:
        return NoFlow(pending, ignored_figure=ignored_figure)
    calendar = turn.calendar
    first = min(periods, key=calendar.deadline)
    late = calendar.is_late(first, turn.now)
    until = (calendar.closes_at(first) - timedelta(days=1)).date() if late else (
        calendar.deadline(first))
    return NoFlow(pending, until, late, ignored_figure)


def _on_value(session: Session, turn: Turn, state: dict, text: str) -> list:
    slot = _state_slot(session, turn, state)
    if slot is None:
        _clear(session, turn)
        return [Stale()]
    card, state = slot.card(), _base(state)
    figure = read_figure(text, FigureRules.for_card(card, slot.period))
    if isinstance(figure, Refusal):  # one message: what was wrong, and the question again
        return [_ask_again(session, slot, state["flow"], figure.message)]
    if isinstance(figure, Choice):
        _set(session, turn, **{**state, "step": "choose", "typed": figure.typed,
                               "readings": [str(v) for v in figure.readings]})
        return [ChooseReading(state["flow"], card, figure.typed, figure.readings)]
    return _judge(session, turn, state, slot, figure.value, note=figure.note)


def _judge(session: Session, turn: Turn, state: dict, slot: ValueSlot, value: Decimal, *,
           note: str = "", chosen: bool = False) -> list:
    """Ask before saving an implausible value; accept a plausible one."""
    card = slot.card()
    if state["flow"] == REPORT and slot.stored is not None:  # stored since it was asked
        return _taken(session, turn, state, slot, value)
    check = FigureRules.for_card(card, slot.period).check(value, slot.history_values(),
                                                          chosen=chosen)
    if not check.ok:
        _set(session, turn, **{**state, "step": "confirm", "candidate": str(value),
                               **({"chosen": True} if chosen else {})})
        return [AskConfirm(state["flow"], card, value, check, note)]
    return _accept(session, turn, state, slot, value, note)


def _accept(session: Session, turn: Turn, state: dict, slot: ValueSlot,
            value: Decimal, note: str = "") -> list:
    """A value the person confirmed: saved now (report) or once the reason is given."""
    state = _base(state)
    if state["flow"] == CORRECT:
        old = slot.stored.value if slot.stored else None
        seen = {"seen": str(old)} if old is not None else {}  # what they correct from
        _set(session, turn, **{**state, "step": "reason", "candidate": str(value), **seen})
        return [AskReason(slot.card(), old, value, note)]
    try:
        row = reporting.save_value(session, slot, value, person_id=turn.person.id,
                                   now=turn.now, calendar=turn.calendar)
    except ValueTaken:
        return _taken(session, turn, state, slot, value)
    except ReportingError as error:
        _clear(session, turn)
        return [Refused(str(error))]
    return justification_step.after_save(session, turn, state, slot, value, row.late, note,
                                         STEPS)


def _on_remarks(session: Session, turn: Turn, state: dict, text: str) -> list:
    slot = _state_slot(session, turn, state)
    if slot is None:
        _clear(session, turn)
        return [Stale()]
    text = printable(text)
    if len(text) > MAX_REMARKS:
        return [RemarksTooLong(len(text))]
    if means_no_remarks(text):  # "no", "ninguna", "👍": not a remark for the workbook
        text = ""
    try:
        reporting.save_remarks(session, slot, text, person_id=turn.person.id, now=turn.now,
                               calendar=turn.calendar)
    except ReportingError as error:
        _clear(session, turn)
        return [Refused(str(error))]
    # save_remarks has just checked that the period is open for the unit.
    return [*batch_flow.remarks_noted(slot, text),
            *settled(session, turn, state, slot, open_checked=True)]


def _on_reason(session: Session, turn: Turn, state: dict, text: str) -> list:
    slot = _state_slot(session, turn, state)
    if slot is None or "candidate" not in state:
        _clear(session, turn)
        return [Stale()]
    reason = printable(text)
    if len(reason) > MAX_REMARKS:
        return [RemarksTooLong(len(reason), CORRECT)]
    if not reason:
        return [Refused("Escribe brevemente por qué cambia el valor.")]
    old_value = slot.stored.value if slot.stored else None
    new = Decimal(state["candidate"])
    seen = state.get("seen")
    try:
        reporting.save_value(session, slot, new, person_id=turn.person.id, now=turn.now,
                             calendar=turn.calendar, reason=reason,
                             expected=Decimal(seen) if seen else None)
    except ValueTaken:  # changed by someone else since the person saw it
        return _taken(session, turn, state, slot, new)
    except ReportingError as error:
        _clear(session, turn)
        return [Refused(str(error))]
    corrected = Corrected(slot.card(), old_value, new, reason)
    ask = justification_step.ask_if_needed(session, turn, state, slot)
    return [corrected, *ask] if ask else _go_on(session, turn, state, slot, corrected)


def _go_on(session: Session, turn: Turn, state: dict, slot: ValueSlot, screen) -> list:
    """After a screen that settles the slot: the next indicator (report) or the end."""
    if state["flow"] == REPORT:
        return [screen, *settled(session, turn, state, slot)]
    _clear(session, turn)
    return [screen]


def settled(session: Session, turn: Turn, state: dict, slot: ValueSlot, *,
            open_checked: bool = False) -> list:
    """A slot of the report needs nothing more: the next queued question of a batch, or the
    next pending indicator."""
    if state.get("queue") is not None:
        return batch_flow.next_in_queue(session, turn, state, slot.unit.clave, slot.period,
                                         STEPS)
    return _ask_next(session, turn, _unit_view(turn, slot.unit.clave), slot.period,
                     open_checked=open_checked)


# The transitions the step rooms (batch_flow, justification_step) hand control back to.
STEPS = Steps(judge=_judge, ask_next=_ask_next, settled=settled)


def _taken(session: Session, turn: Turn, state: dict, slot: ValueSlot, value: Decimal) -> list:
    """The slot holds a value the person did not see: say whose, keep it, and let them keep
    it or correct it with a reason (buttons ``keep``/``chg``)."""
    owner = ownership.owner_of(session, slot.stored, turn.calendar)
    screen = Taken(state["flow"], slot.card(), owner, value)
    if screen.same:
        return _go_on(session, turn, state, slot, screen)
    _set(session, turn, **{**state, "step": "taken", "candidate": str(value)})
    return [screen]


# --- buttons ----------------------------------------------------------------------------------

def on_button(session: Session, turn: Turn, flow: str, parts: list[str]) -> list:
    """A button of the report (``r:…``) or correction (``c:…``) flow; validated here."""
    state = claim_and_load(session, turn)
    if state is None:
        return [Duplicate()]
    if not turn.person.is_coordinador or not parts:
        return [Stale()]
    action, args = parts[0], parts[1:]
    if action == "u" and len(args) == 1:
        unit = _unit_view(turn, args[0])
        return [Stale()] if unit is None else _choose_period(session, turn, flow, unit)
    if action == "p" and len(args) == 2:
        return _on_period(session, turn, flow, *args)
    if flow == CORRECT and action == "i" and len(args) == 2:
        return _pick_for_correction(session, turn, *args)
    if action == "rd" and len(args) == 2:
        return _on_reading(session, turn, flow, state, *args)
    if flow == REPORT and action in ("bt", "desc"):
        return batch_flow.on_button(session, turn, state, action, args, STEPS)
    if action in ("ok", "fix", "nr", "keep", "chg") and len(args) == 1:
        expected_step = {"nr": "remarks", "keep": "taken", "chg": "taken"}.get(action, "confirm")
        if (state.get("flow") != flow or state.get("step") != expected_step
                or str(state.get("indicator")) != args[0]):
            return [Stale()]
        slot = _state_slot(session, turn, state)
        if slot is None or (expected_step == "taken" and slot.stored is None):
            _clear(session, turn)
            return [Stale()]
        if action == "ok":
            return _accept(session, turn, state, slot, Decimal(state["candidate"]))
        if action == "keep":
            return _go_on(session, turn, state, slot,
                          Kept(slot.card(), slot.stored.value))
        if action == "chg":
            _set(session, turn, **{**state, "step": "reason", "seen": str(slot.stored.value)})
            return [AskReason(slot.card(), slot.stored.value, Decimal(state["candidate"]))]
        if action == "fix":
            _set(session, turn, **{**_base(state), "step": "value", "batch": 0})
            return [_ask_again(session, slot, flow)]
        return settled(session, turn, state, slot)
    return [Stale()]


def _on_reading(session: Session, turn: Turn, flow: str, state: dict, indicator: str,
                value: str) -> list:
    """A reading picked on a ChooseReading screen; must be one the stored state offers."""
    if (state.get("flow") != flow or state.get("step") != "choose"
            or str(state.get("indicator")) != indicator
            or not isinstance(state.get("readings"), list) or value not in state["readings"]):
        return [Stale()]
    slot = _state_slot(session, turn, state)
    if slot is None:
        _clear(session, turn)
        return [Stale()]
    return _judge(session, turn, _base(state), slot, Decimal(value), chosen=True)


def _on_period(session: Session, turn: Turn, flow: str, clave: str, code: str) -> list:
    unit = _unit_view(turn, clave)
    period = reporting.parse_period_code(code)
    if unit is None or period is None:
        return [Stale()]
    if flow == REPORT:
        allowed = [p for p, _n in reporting.reportable_periods_for_unit(
            session, turn.person.id, clave, turn.now, turn.calendar)]
        if period not in allowed:
            return [Stale()]
        return _ask_next(session, turn, unit, period, open_checked=True)  # allowed: open
    if period not in reporting.correctable_periods_for_unit(session, clave, turn.now,
                                                            turn.calendar):
        return [Stale()]
    return _choose_indicator(session, turn, unit, period)


# --- other commands ---------------------------------------------------------------------------

def cancel(session: Session, turn: Turn) -> list:
    state = claim_and_load(session, turn)
    if state is None:
        return [Duplicate()]
    had_flow = bool(state.get("flow"))
    _clear(session, turn)
    return [Cancelled(had_flow)]


def remind(session: Session, turn: Turn) -> list:
    """Where the person was, to show after answering an unrelated command."""
    state = load_state(session, turn.chat_id)
    if not state.get("flow"):
        return []
    return [Resume(), *current_question(session, turn, state)]


def current_question(session: Session, turn: Turn, state: dict) -> list:
    """The question the stored state is waiting for, asked again (nothing is changed)."""
    flow, step = state.get("flow"), state.get("step")
    if step == "unit":
        return [ChooseUnit(flow, turn.person.units)]
    unit = _unit_view(turn, str(state.get("unit")))
    if unit is None:
        _clear(session, turn)
        return []
    if step == "period":
        if flow == REPORT:
            periods = reporting.reportable_periods_for_unit(
                session, turn.person.id, unit.clave, turn.now, turn.calendar)
        else:
            periods = [(p, 0) for p in reporting.correctable_periods_for_unit(
                session, unit.clave, turn.now, turn.calendar)]
        return [ChoosePeriod(flow, unit, tuple(periods))] if periods else []
    period = reporting.parse_period_code(str(state.get("period")))
    if step in ("table", "justify") or (step == "value" and state.get("batch")):
        screens = (justification_step.current(session, turn, state) if step == "justify"
                   else batch_flow.current(session, turn, state, STEPS))
        if not screens:
            _clear(session, turn)
        return screens
    if step == "indicator" and period is not None:
        rows = [r for r in reporting.summary_rows(session, unit.clave, period)
                if r.value is not None]
        return [ChooseIndicator(unit, period, tuple(rows))]
    slot = _state_slot(session, turn, state)
    if slot is None:
        _clear(session, turn)
        return []
    card = slot.card()
    position, total = _position(session, slot)
    if step == "value":
        return [AskValue(card, position, total, correcting=flow == CORRECT)]
    if step == "choose":
        readings = tuple(Decimal(v) for v in state.get("readings") or [])
        return [ChooseReading(flow, card, str(state.get("typed", "")), readings)]
    if step == "confirm":
        value = Decimal(state["candidate"])
        check = FigureRules.for_card(card, slot.period).check(
            value, slot.history_values(), chosen=bool(state.get("chosen")))
        return [AskConfirm(flow, card, value, check)]
    if step == "remarks":
        return [AskRemarks(card, card.current or Decimal(0), False, saved_now=False)]
    if step == "reason":
        return [AskReason(card, card.current, Decimal(state["candidate"]))]
    if step == "taken" and slot.stored is not None:
        owner = ownership.owner_of(session, slot.stored, turn.calendar)
        return [Taken(flow, card, owner, Decimal(state["candidate"]))]
    return []


def pending_list(session: Session, turn: Turn) -> list:
    """/pendientes: per unit, the open periods and the indicators still owed."""
    if not turn.person.is_coordinador:
        return [NotForRole("pendientes")]
    units = []
    for unit in turn.person.units:
        periods = []
        for period, _count in reporting.reportable_periods_for_unit(
                session, turn.person.id, unit.clave, turn.now, turn.calendar):
            names = tuple(display_name(i.nombre, i.short_name)
                          for i in reporting.pending.pending_indicators(
                              session, turn.person.id, period, unit.clave,
                              today=turn.calendar.local(turn.now).date()))  # stand-ins
            periods.append((period, names))
        owed_evidence = evidence.lacking_for_person(  # bot/services/evidence.py
            session, turn.person.id, unit.clave,
            reporting.open_periods_for_unit(session, unit.clave, turn.now, turn.calendar))
        units.append(PendingUnit(unit, tuple(periods), tuple(owed_evidence)))
    return [PendingList(tuple(units))]


