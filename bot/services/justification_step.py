"""The conversation step that asks for the *justificación de la variación* (``justify``).

Asked right after a value is saved (report) or corrected (``/corregir``) when it leaves
green (:mod:`bot.services.justification`), before the remarks: required, one or two
sentences with the cause and what will be done; "no", emoji or a few letters are refused with
a clear message and the question stays. Then the flow goes on where it would have gone: the
remarks (one at a time, or a batch «con observaciones»), the next queued question of a batch,
or the end of a correction — through ``steps.settled``, passed in by the conversation (this
module imports :mod:`bot.services.flow_state`, never the conversation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlmodel import Session

from bot.domain.fichas import is_off_green
from bot.services import flow_state, justification
from bot.services.flow_state import Steps
from bot.services.justification import Assessment
from bot.services.reporting import IndicatorCard, ValueSlot


@dataclass(frozen=True)
class AskJustification:
    card: IndicatorCard
    value: Decimal
    which: str  # Spanish: "el periodo", "el acumulado del año" or both
    meta: Decimal  # the period's meta the value was judged against (programmed, if any)
    year: tuple[Decimal, Decimal] | None  # (to date, target) when the year left green
    flow: str = "r"  # conversation.REPORT
    saved_now: bool = False  # asked right after saving a typed value: say it was saved
    note: str = ""  # how the text was read, when not obvious (typed_figures.Reading.note)


@dataclass(frozen=True)
class Justified:
    card: IndicatorCard
    text: str


def _assessment(session: Session, turn, slot: ValueSlot) -> Assessment | None:
    if slot.stored is None:
        return None
    return justification.assess(session, slot.indicator, slot.period, slot.stored.value,
                                turn.bands, slot.all_earlier(),
                                slot.ficha_and_calendar(session, turn.bands))


def ask(session: Session, turn, state: dict, slot: ValueSlot,
        assessment: Assessment | None = None) -> list:
    """The justification question (``assessment``: the stored value's, when already made)."""
    if assessment is None:
        assessment = _assessment(session, turn, slot)
    if assessment is None:
        flow_state.clear(session, turn)
        return [flow_state.Stale()]
    flow_state.set_step(session, turn, **{**flow_state.base(state), "step": "justify",
                                          "indicator": slot.indicator.id})
    return [_question(slot, assessment, state)]


def _question(slot: ValueSlot, assessment: Assessment, state: dict) -> AskJustification:
    year = ((assessment.year_figure, assessment.year_target)
            if is_off_green(assessment.cumulative_state) else None)
    return AskJustification(slot.card(), slot.stored.value, assessment.which,
                            assessment.period_meta, year, state.get("flow", flow_state.REPORT))


def _ask_if(session: Session, turn, state: dict, slot: ValueSlot,
            assessment: Assessment) -> list:
    if not justification.needs_asking(session, slot.indicator.id, slot.period.code, assessment):
        return []
    return ask(session, turn, state, slot, assessment)


def ask_if_needed(session: Session, turn, state: dict, slot: ValueSlot) -> list:
    """After a value is stored (``slot.stored``): the question if it left green (in a state
    not justified yet)."""
    assessment = _assessment(session, turn, slot)
    return _ask_if(session, turn, state, slot, assessment) if assessment is not None else []


def after_save(session: Session, turn, state: dict, slot: ValueSlot, value: Decimal,
               late: bool, note: str, steps: Steps) -> list:
    """A report value was just saved: justification if needed, then remarks or the next."""
    assessment = _assessment(session, turn, slot)  # save_value made slot.stored this value
    saved = flow_state.AskRemarks(slot.card(), value, late, note,
                                  evidence_required=assessment.evidence_required)
    ask_now = _ask_if(session, turn, state, slot, assessment)
    if ask_now:  # the question says, first, that the value was saved (and how it was read)
        return [replace(s, saved_now=True, note=note) if isinstance(s, AskJustification) else s
                for s in ask_now]
    if state.get("queue") is not None and not state.get("obs"):
        return [flow_state.ValueNoted(slot.card(), value, note),
                *steps.settled(session, turn, flow_state.base(state), slot)]
    flow_state.set_step(session, turn, **{**flow_state.base(state), "step": "remarks"})
    return [saved]


def on_text(session: Session, turn, state: dict, text: str, steps: Steps) -> list:
    slot = flow_state.state_slot(session, turn, state)
    assessment = _assessment(session, turn, slot) if slot is not None else None
    if slot is None or assessment is None:
        flow_state.clear(session, turn)
        return [flow_state.Stale()]
    text = flow_state.printable(text)
    problem = justification.refusal(text)
    if problem:
        return [flow_state.Refused(problem)]  # the question stays; nothing saved
    justification.save(session, slot.indicator.id, slot.period.code, text,
                       person_id=turn.person.id, now=turn.now, assessment=assessment)
    done = Justified(slot.card(), text)
    if state.get("flow") == flow_state.CORRECT:
        flow_state.clear(session, turn)
        return [done]
    if state.get("queue") is not None and not state.get("obs"):
        return [done, *steps.settled(session, turn, state, slot)]
    flow_state.set_step(session, turn, **{**flow_state.base(state), "step": "remarks"})
    return [done, flow_state.AskRemarks(slot.card(), slot.stored.value, False, saved_now=False,
                                        evidence_required=assessment.evidence_required)]


def current(session: Session, turn, state: dict) -> list:
    slot = flow_state.state_slot(session, turn, state)
    assessment = _assessment(session, turn, slot) if slot is not None else None
    if slot is None or assessment is None:
        return []
    return [_question(slot, assessment, state)]
