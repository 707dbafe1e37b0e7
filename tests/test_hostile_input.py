"""Hostile input: thousands of generated messages and button presses against the real bot.

Each Hypothesis example is a whole SCRIPT (a few dozen actions by two coordinadores of
different units, a gerente and two strangers): arbitrary Unicode with control characters,
texts of up to 10,000 characters, HTML and Markdown fragments, numbers in every notation,
commands in the middle of a conversation, forged callback data, other people's buttons and
replays of buttons seen earlier, edited messages, photos, group chats. Scripts run one after
another against ONE running Application (real PTB, real handlers, real database over the
strict Bot API stand-in), without resetting anything between them: state left by one script
is the next one's starting point, on purpose.

After every script:

* no exception reached the error handler and nothing was logged at ERROR;
* the stand-in rejected no request, and every button press was answered;
* each stranger received exactly one plain line per update (the polite refusal, or the
  invitation refusal for ``/start <token>``) and nothing else;
* nothing the actors may not touch changed: people and their units never change; a unit's
  values, revisions and each chat's conversation change only if their owner acted; locks,
  lock events, invitations and reminder logs only if the gerente acted; and every row that
  did change names a person allowed to change it.

Examples are derandomized (the same scripts on every run, so CI is reproducible); set
``POA_HOSTILE_EXAMPLES`` for more of them and ``POA_HOSTILE_RANDOM=1`` to explore new ones.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.domain.periods import Period
from bot.services.registration import (
    INVALID_INVITATION,
    create_invitation,
    redeem_invitation,
)
from handlers.common import ERROR_TEXT, STALE_BUTTON_TEXT, STRANGER_TEXT
from storage.models import (
    Conversation,
    Indicator,
    Invitation,
    LockEvent,
    PeriodLock,
    Person,
    PersonUnit,
    ReminderLog,
    ReportedValue,
    Revision,
    Unit,
)
from tests.harness import TEST_BOT_USERNAME, add_sample_catalog, running_bot

ANA, BETO, GERENTE = 1001, 1002, 2001  # coordinadora of 303; coordinador of 305+306; gerente
STRANGERS = (7001, 7002)
COORDINADORES = {ANA: ("303",), BETO: ("305", "306")}
ACTORS = (ANA, BETO, GERENTE, *STRANGERS)

EXAMPLES = int(os.environ.get("POA_HOSTILE_EXAMPLES", "80"))
EXPLORE = os.environ.get("POA_HOSTILE_RANDOM") == "1"
SHRINK = os.environ.get("POA_HOSTILE_SHRINK") == "1"

USED_TOKEN_MESSAGE = "Esa invitación ya se usó. Pide una nueva a tu gerente."
EXPIRED_TOKEN_MESSAGE = "Esa invitación venció. Pide una nueva a tu gerente."
STRANGER_REPLIES = {STRANGER_TEXT, INVALID_INVITATION, USED_TOKEN_MESSAGE, EXPIRED_TOKEN_MESSAGE}


# --- strategies ------------------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=("Cs",))  # every Unicode category but surrogates
CONTROL_CHAR = st.characters(categories=("Cc", "Cf", "Zl", "Zp"))
HTML_MARKDOWN = ["<b>", "</b>", "</i>", "<i>", "<a href=x>", "</a>", "<a href=\"javascript:x\">",
                 "&", "&amp;", "&lt", "&#0;", "&#x110000;", "<script>", "<br/>", "<tg-spoiler>",
                 "<pre><code class=\"x\">", "</code>", "*_[", "]()", "`", "```", "||", "~~",
                 "\\", "<", ">", "\"", "'", "<<b>>", "<b><i></b></i>", "<!--", "]]>", "%s",
                 "{0}", "${x}", "\u202e", "\u200b", "\ufeff", "\x00", "\x1b[31m", "\r\n", "\t"]
NUMBERS = ["1,5", "1.000,5", "1e5", "-3", "٣", "１２", "1_000", "0x10", "∞", "-∞",
           "12345678901234567890", "99999999999999999999.999", "8.33%", "8.33 %", "255,835",
           "255 835", "1 084", "1\u00a0084", "1\u202f084", "0", "0.0", "00000", ".5", "5.",
           "1,234,567.891", "1,23", "1.2.3", "+5", "−3", "–3", "NaN", "nan", "inf", "Infinity",
           "1e-5", "½", "²", "Ⅻ", "๓", "٣٫٥", "1/2", "100%", "%", "%%", "5%%", "50 % ", " 7 ",
           "0.001", "0.0001", "1,000,000,000,000,000", "999999999999999", "1000000000000000",
           "8,33%", "١٢٣٬٤٥٦", "1'000", "1·000", "0b101", "0o17", "1.5e3", "3.14159"]
PERIOD_WORDS = ["2023-03", "marzo", "mar-23", "marzo 2023", "T1", "2023-T1", "2023-Q1", "S1",
                "2023-S1", "2023", "2022", "2022-12", "2023-02", "2023-04", "2024-01", "diciembre",
                "1999", "9999", "0000", "0000-01", "9999-12", "2023-13", "2023-00", "Q5", "٢٠٢٣",
                "２０２３-０３", "2023-3", "03-2023", "PRIMER TRIMESTRE 2023", "dic-00", "10000"]
UNIT_WORDS = ["303", "305", "306", "999", "0", "*", "٣٠٣", "３０３", "303A", "-303", "30300"]
KNOWN_COMMANDS = ["start", "reportar", "corregir", "cancelar", "pendientes", "resumen",
                  "exportar", "grafica", "reabrir", "cerrar", "invitar", "recordatorios",
                  "recordar", "ayuda", "help"]
SLOW_COMMANDS = {"exportar", "grafica"}  # a workbook or a chart each: drawn less often


def _repeat_to(pieces: list[str], length: int) -> str:
    text = "".join(pieces) or "x"
    return (text * (length // len(text) + 1))[:length]


short_text = st.text(ANY_CHAR, min_size=1, max_size=80)
long_text = st.builds(_repeat_to, st.lists(st.one_of(short_text, st.sampled_from(HTML_MARKDOWN)),
                                           min_size=1, max_size=4),
                      st.sampled_from([1001, 4096, 4097, 9999, 10_000]))
markup_text = st.lists(st.one_of(st.sampled_from(HTML_MARKDOWN), short_text, CONTROL_CHAR),
                       min_size=1, max_size=8).map("".join)
number_text = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(min_value=-10**22, max_value=10**22).map(str),
    st.integers(min_value=0, max_value=10**9).map(lambda n: f"{n:,}"),
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.floats().map(repr),
    st.tuples(st.sampled_from(NUMBERS), st.sampled_from(["", "%", " ", "\x00", "\u200b"]))
    .map("".join),
)
hostile_text = st.one_of(short_text, markup_text, number_text, long_text,
                         st.text(CONTROL_CHAR, min_size=1, max_size=10))


@st.composite
def command_text(draw) -> str:
    slow = draw(st.integers(0, 7)) == 0
    name = draw(st.one_of(
        st.sampled_from(sorted(SLOW_COMMANDS) if slow else
                        [c for c in KNOWN_COMMANDS if c not in SLOW_COMMANDS]),
        st.sampled_from(["foo", "REPORTAR", "Resumen", "start@" + TEST_BOT_USERNAME,
                         "reportar@" + TEST_BOT_USERNAME, "reportar@other_bot", "start@other_bot",
                         "start@" + TEST_BOT_USERNAME.upper(), "", "/",
                         "reportar_", "a" * 40]),
        st.text(st.characters(categories=("Ll", "Nd", "Pc", "Lo")), min_size=1, max_size=20),
    ))
    words = draw(st.lists(st.one_of(st.sampled_from(PERIOD_WORDS), st.sampled_from(UNIT_WORDS),
                                    st.sampled_from(["gerente", "coordinador", "303,306"]),
                                    short_text, number_text), max_size=4))
    if name.startswith("start") and draw(st.booleans()):
        words = [draw(st.sampled_from(["<used>", "<expired>", "<random>"]))]
    separator = draw(st.sampled_from([" ", "  ", "\n", "\t", "\u00a0"]))
    return "/" + name + "".join(separator + w for w in words)


def _fit_callback(data: str) -> str:
    """Cut to Telegram's 64 bytes without splitting a character; never empty."""
    raw = data.encode("utf-8")[:64].decode("utf-8", errors="ignore")
    return raw or "x"


CALLBACK_PERIODS = ["2023-03", "2023-02", "2023-01", "2022-12", "2023-Q1", "2023-13", "2024-01",
                    "2023", "2023-S1", "²", "0000-01", "9999-12", "٢٠٢٣-٠٣", "2023-3", ""]
CALLBACK_NUMBERS = ["0", "1", "2", "99999", "²", "١", "-1", "1_0", " 1", "1e3", "00001",
                    "999999999999999999999", ""]
callback_field = st.one_of(st.sampled_from(UNIT_WORDS), st.sampled_from(CALLBACK_PERIODS),
                           st.integers(min_value=-2, max_value=40).map(str),
                           st.sampled_from(CALLBACK_NUMBERS), short_text)
# Plausible values of each field of the bot's own buttons (handlers.reporting, .summary,
# .reminders): other units' claves and indicators, closed periods, other pages.
PLAUSIBLE = {"clave": ["303", "305", "306"], "period": ["2023-03", "2023-02", "2023-Q1", "2023"],
             "scope": ["*", "303", "305", "306"], "page": ["0", "1", "2"],
             "id": [str(n) for n in range(1, 9)]}
CALLBACK_SHAPES = [("r:u", ["clave"]), ("c:u", ["clave"]), ("r:p", ["clave", "period"]),
                   ("c:p", ["clave", "period"]), ("c:i", ["id", "period"]), ("r:ok", ["id"]),
                   ("r:fix", ["id"]), ("r:nr", ["id"]), ("c:ok", ["id"]), ("c:fix", ["id"]),
                   ("rem:rep", ["period"]), ("rs:p", ["period", "scope", "page"]),
                   ("rs:u", ["period", "scope", "page", "clave", "page"])]


@st.composite
def shaped_callback(draw) -> str:
    """A button of the bot's own shape with plausible fields, at most one of them broken."""
    prefix, kinds = draw(st.sampled_from(CALLBACK_SHAPES))
    fields = [draw(st.sampled_from(PLAUSIBLE[kind])) for kind in kinds]
    broken = draw(st.integers(-len(fields), len(fields) - 1))
    if broken >= 0:
        fields[broken] = draw(callback_field)
    return _fit_callback(":".join([prefix, *fields]))


forged_callback = st.one_of(
    shaped_callback(), shaped_callback(),
    st.text(ANY_CHAR, min_size=1, max_size=64).map(_fit_callback),
    st.binary(min_size=1, max_size=64).map(lambda b: _fit_callback(b.decode("latin-1"))),
    st.tuples(
        st.sampled_from(["r", "c", "rs", "rem", "x", "", "R", "r ", "rs\x00"]),
        st.lists(st.one_of(st.sampled_from(["u", "p", "i", "ok", "fix", "nr", "rep", "*", ""]),
                           callback_field), max_size=7),
    ).map(lambda t: _fit_callback(":".join([t[0], *t[1]]))),
)

RAW_KINDS = ["edited", "photo", "sticker", "group", "query_without_message", "channel_post",
             "document", "empty_text"]
LATEST = -1  # press_seen payload: the newest button on screen
RAW_IDS = itertools.count(900_000)  # ids of forged messages and queries


@dataclass(frozen=True)
class Action:
    kind: str  # text | press_seen | press_foreign | press_forged | raw
    actor: int
    payload: object = None


def _one(kind: str, actor: int, payload) -> st.SearchStrategy[list[Action]]:
    return st.builds(lambda p: [Action(kind, actor, p)], payload)


def _report_steps(actor: int) -> st.SearchStrategy[list[Action]]:
    """Straight to the questions that store text: a value, then remarks (or a reason)."""
    return st.builds(
        lambda start, value, remark: [Action("text", actor, start),
                                      Action("press_seen", actor, LATEST),
                                      Action("press_seen", actor, LATEST),
                                      Action("text", actor, value),
                                      Action("press_seen", actor, LATEST),
                                      Action("text", actor, remark)],
        st.sampled_from(["/reportar", "/reportar", "/corregir"]),
        st.sampled_from(["1", "150", "255835", "8.33%", "8.33", "0", "1,000,000"]),
        st.one_of(hostile_text, markup_text, st.text(CONTROL_CHAR, min_size=1, max_size=5)))


def _action(actor: int) -> st.SearchStrategy[list[Action]]:
    coordinador = actor in COORDINADORES
    weighted = [
        (5 if coordinador else 2, _one("text", actor, number_text)),
        (3, _one("text", actor, hostile_text)),
        (6 if actor == GERENTE else 3, _one("text", actor, command_text())),
        (4 if coordinador else 2, _one("press_seen", actor, st.integers(0, 10**6))),
        (1, _one("press_foreign", actor, st.integers(0, 10**6))),
        (3, _one("press_forged", actor, forged_callback)),
        (1, _one("raw", actor, st.tuples(st.sampled_from(RAW_KINDS), short_text))),
    ]
    if coordinador:  # keep them inside the reporting conversation a good part of the time
        weighted.append((3, st.just([Action("text", actor, "/reportar")])))
        weighted.append((1, st.just([Action("text", actor, "/corregir")])))
        weighted.append((2, _report_steps(actor)))
    return st.one_of(*[strategy for weight, strategy in weighted for _ in range(weight)])


@st.composite
def scripts(draw) -> list[Action]:
    actors = sorted(draw(st.sets(st.sampled_from(ACTORS), min_size=1, max_size=len(ACTORS))))
    steps = draw(st.lists(st.sampled_from(actors).flatmap(_action), min_size=15, max_size=45))
    return [action for step in steps for action in step]


# --- the world -------------------------------------------------------------------------------

@dataclass
class World:
    used_token: str
    expired_token: str
    person_ids: dict[int, int]  # telegram user id -> Person.id
    unit_owner_ids: dict[str, set[int]]  # unit clave -> Person ids allowed to change it
    errors: list[str] = field(default_factory=list)


def seed_history(session, ids: dict[str, list[int]], now) -> None:
    """January and February 2023 values (as imported), so there is history and a summary."""
    for indicator_ids in ids.values():
        for indicator_id in indicator_ids:
            indicator = session.get(Indicator, indicator_id)
            if indicator.frecuencia != "MENSUAL":
                continue
            for month in (1, 2):
                period = Period.month(2023, month)
                session.add(ReportedValue(
                    indicator_id=indicator_id, period=period.code, year=2023,
                    period_start=period.start, period_end=period.end,
                    value=indicator.meta * Decimal("0.9"), meta=indicator.meta,
                    observaciones="importado", reported_at=now, source="import",
                    late=False))


async def build_world(bot) -> World:
    ids = await bot.db.run(add_sample_catalog, 2023)
    await bot.db.run(seed_history, ids, bot.clock())
    people = {ANA: await bot.register_coordinador(ANA, COORDINADORES[ANA], name="Ana <b>&"),
              BETO: await bot.register_coordinador(BETO, COORDINADORES[BETO], name="Beto *_["),
              GERENTE: await bot.register_gerente(GERENTE, name="Gerente")}
    now = bot.clock()

    def tokens(session):
        used = create_invitation(session, role="coordinador", unit_claves=["303"], name="",
                                 now=now, days=7)
        redeem_invitation(session, token=used.token, telegram_user_id=ANA, chat_id=ANA,
                          telegram_name="Ana", now=now)
        expired = create_invitation(session, role="gerente", unit_claves=[], name="",
                                    now=now - timedelta(days=30), days=1)
        return used.token, expired.token

    used, expired = await bot.db.run(tokens)
    owners: dict[str, set[int]] = {}
    for user, claves in COORDINADORES.items():
        for clave in claves:
            owners.setdefault(clave, set()).add(people[user].id)
    return World(used_token=used, expired_token=expired,
                 person_ids={user: p.id for user, p in people.items()}, unit_owner_ids=owners)


class ErrorCollector(logging.Handler):
    """Every record at ERROR or above, from any logger (PTB's, ours, the error handler's)."""

    def __init__(self, world: World):
        super().__init__(logging.ERROR)
        self.world = world

    def emit(self, record: logging.LogRecord) -> None:
        self.world.errors.append(f"{record.name}: {record.getMessage()}"
                                 + (f" ({record.exc_info[1]!r})" if record.exc_info else ""))


# --- playing a script ------------------------------------------------------------------------

def _resolve_text(text: str, world: World) -> str:
    return (text.replace("<used>", world.used_token).replace("<expired>", world.expired_token)
            .replace("<random>", "Zx9" + "a" * 29))


def _seen_buttons(bot, chat_id: int) -> list[str]:
    return [data for message in bot.stub.sent if message.chat_id == chat_id
            for _label, data in message.buttons if data]


def _raw_update(bot, actor: int, kind: str, text: str) -> int:
    """Queue a non-text update; returns how many lines a stranger must get for it."""
    user = {"id": actor, "is_bot": False, "first_name": "Tester", "language_code": "es"}
    private = {"id": actor, "type": "private", "first_name": "Tester"}
    base = {"message_id": next(RAW_IDS), "from": user, "chat": private,
            "date": 1_680_000_000}
    if kind == "edited":
        bot.stub.queue_raw_update({"edited_message": {**base, "text": text,
                                                      "edit_date": 1_680_000_100}})
    elif kind == "photo":
        bot.stub.queue_raw_update({"message": {**base, "caption": text, "photo": [
            {"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}]}})
    elif kind == "sticker":
        bot.stub.queue_raw_update({"message": {**base, "sticker": {
            "file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False}}})
    elif kind == "document":
        bot.stub.queue_raw_update({"message": {**base, "document": {
            "file_id": "d1", "file_unique_id": "d1", "file_name": text[:60] or "x.xlsx"}}})
    elif kind == "empty_text":
        bot.stub.queue_raw_update({"message": {**base, "text": ""}})
    elif kind == "group":
        group = {"id": -100_000 - actor, "type": "supergroup", "title": text[:100] or "grupo"}
        bot.stub.queue_raw_update({"message": {**base, "chat": group, "text": text}})
        return 0  # the bot works in private chats only: silence in groups
    elif kind == "query_without_message":
        bot.stub.queue_raw_update({"callback_query": {
            "id": f"raw-{next(RAW_IDS)}", "from": user,
            "chat_instance": "1", "data": _fit_callback(text)}})
    elif kind == "channel_post":
        channel = {"id": -200_000 - actor, "type": "channel", "title": "canal"}
        bot.stub.queue_raw_update({"channel_post": {**base, "chat": channel, "text": text}})
        return 0
    return 1


async def play(bot, world: World, script: list[Action]) -> None:
    before = await bot.db.run(snapshot)
    stranger_lines = Counter()
    stranger_start = {s: len(bot.stub.messages_to(s)) for s in STRANGERS}
    sent_before = {s: sum(1 for m in bot.stub.sent if m.chat_id == s) for s in STRANGERS}
    errors_before = len(world.errors)
    for action in script:
        actor, payload = action.actor, action.payload
        if action.kind == "text":
            bot.stub.send_text(actor, _resolve_text(str(payload), world))
            expected = 1
        elif action.kind in ("press_seen", "press_foreign"):
            await bot.idle(timeout=60)  # the buttons on screen now, deterministically
            if action.kind == "press_seen":
                seen = _seen_buttons(bot, actor)
            else:
                seen = [d for other in ACTORS if other != actor
                        for d in _seen_buttons(bot, other)]
            data = seen[payload % len(seen)] if seen else "r:u:303"
            bot.stub.press_button(actor, data)
            expected = 1
        elif action.kind == "press_forged":
            bot.stub.press_button(actor, str(payload))
            expected = 1
        else:
            kind, text = payload
            expected = _raw_update(bot, actor, kind, text)
        if actor in STRANGERS:
            stranger_lines[actor] += expected
    await bot.idle(timeout=120)

    context = f"script: {[(a.kind, a.actor, _short(a.payload)) for a in script]}"
    assert world.errors[errors_before:] == [], context
    assert bot.stub.rejections == [], context
    assert bot.stub.unanswered_callback_queries() == [], context
    for stranger in STRANGERS:
        got = bot.stub.messages_to(stranger)[stranger_start[stranger]:]
        texts = [m.text for m in got]
        transcript = bot.stub.transcript(stranger).splitlines()[-4 * len(texts) - 4:]
        assert len(texts) == stranger_lines[stranger], (stranger, transcript, context)
        assert set(texts) <= STRANGER_REPLIES, (stranger, texts, context)
        assert all(not m.buttons for m in got), context
        # Nothing else either: no documents, photos, edits or menus for strangers.
        sent = [m for m in bot.stub.sent if m.chat_id == stranger]
        assert len(sent) - sent_before[stranger] == len(got), context
    after = await bot.db.run(snapshot)
    check_untouchable(before, after, {a.actor for a in script}, world, context)


def _short(payload: object) -> object:
    if isinstance(payload, str) and len(payload) > 60:
        return f"{payload[:40]!r}…({len(payload)} chars)"
    return payload


# --- what may change -------------------------------------------------------------------------

def snapshot(session) -> dict:
    unit_of = {i.id: u.clave for i, u in session.exec(
        select(Indicator, Unit).join(Unit, Unit.id == Indicator.unit_id))}
    values: dict[str, set] = {}
    for row in session.exec(select(ReportedValue)):
        values.setdefault(unit_of[row.indicator_id], set()).add(
            (row.indicator_id, row.period, row.value, row.observaciones, row.reported_by_id,
             row.late, row.source))
    revisions: dict[str, set] = {}
    for row in session.exec(select(Revision)):
        revisions.setdefault(unit_of[row.indicator_id], set()).add(
            (row.id, row.period, row.old_value, row.new_value, row.new_observaciones,
             row.person_id, row.reason))
    return {
        "values": values,
        "revisions": revisions,
        "persons": {(p.id, p.telegram_user_id, p.chat_id, p.name, p.role, p.active)
                    for p in session.exec(select(Person))},
        "person_units": {(pu.person_id, pu.unit_id) for pu in session.exec(select(PersonUnit))},
        "invitations": {(i.id, i.token_hash, i.role, i.unit_claves, i.expires_at, i.used_at,
                         i.used_by_id, i.created_by_id) for i in session.exec(select(Invitation))},
        "locks": {(lk.period, lk.unit_clave, lk.closed, lk.changed_by_id)
                  for lk in session.exec(select(PeriodLock))},
        "lock_events": {(e.id, e.period, e.unit_clave, e.action, e.person_id)
                        for e in session.exec(select(LockEvent))},
        "reminder_logs": {(r.person_id, r.period, r.stage, r.outcome)
                          for r in session.exec(select(ReminderLog))},
        "conversations": {c.chat_id: c.state for c in session.exec(select(Conversation))},
    }


def check_untouchable(before: dict, after: dict, actors: set[int], world: World,
                      context: str) -> None:
    # Nobody registers, changes role or units from these scripts (no valid token is used).
    assert after["persons"] == before["persons"], context
    assert after["person_units"] == before["person_units"], context
    # A unit's figures change only when one of its coordinadores acted.
    for clave, owners in world.unit_owner_ids.items():
        owner_acted = any(world.person_ids.get(user) in owners for user in actors)
        if not owner_acted:
            assert after["values"].get(clave) == before["values"].get(clave), (clave, context)
            assert after["revisions"].get(clave) == before["revisions"].get(clave), (clave,
                                                                                     context)
        # Whoever changed a figure is one of the unit's coordinadores.
        for row in after["values"].get(clave, set()) - before["values"].get(clave, set()):
            assert row[4] in owners and row[6] == "telegram", (clave, row, context)
        for row in after["revisions"].get(clave, set()) - before["revisions"].get(clave, set()):
            assert row[5] in owners, (clave, row, context)
    # Locks, invitations and reminders are the gerente's.
    gerente_id = world.person_ids[GERENTE]
    if GERENTE not in actors:
        for key in ("locks", "lock_events", "invitations", "reminder_logs"):
            assert after[key] == before[key], (key, context)
    for event in after["lock_events"] - before["lock_events"]:
        assert event[4] == gerente_id, (event, context)
    for invitation in after["invitations"] - before["invitations"]:
        assert invitation[7] == gerente_id and invitation[5] is None, (invitation, context)
    # Conversations: only the actors' own; strangers never get one.
    for chat_id in set(before["conversations"]) | set(after["conversations"]):
        if chat_id not in actors:
            assert after["conversations"].get(chat_id) == before["conversations"].get(chat_id), (
                chat_id, context)
    assert not set(after["conversations"]) & set(STRANGERS), context


# --- the test --------------------------------------------------------------------------------

# No shrinking by default: the bot's state carries over between scripts, so a shrunk script
# replays against a different state; the failing script is printed whole instead.
HOSTILE_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not EXPLORE, database=None,
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else []),
    suppress_health_check=list(HealthCheck), print_blob=True)


async def test_hostile_scripts_break_nothing_and_touch_only_what_is_theirs(db):
    # Without PTB's rate limiter: it only holds the stream to Telegram's 30 messages/s
    # (the fault suite covers it) and would make this volume take minutes.
    async with running_bot(db, rate_limiter=False) as bot:
        world = await build_world(bot)
        collector = ErrorCollector(world)
        logging.getLogger().addHandler(collector)

        async def count_handler_error(update, context) -> None:
            world.errors.append(f"error handler: {context.error!r}")

        bot.app.add_error_handler(count_handler_error)
        loop = asyncio.get_running_loop()
        played = Counter()

        @HOSTILE_SETTINGS
        @given(script=scripts())
        def run_script(script: list[Action]) -> None:
            played["scripts"] += 1
            played["actions"] += len(script)
            asyncio.run_coroutine_threadsafe(play(bot, world, script), loop).result(timeout=300)

        try:
            await asyncio.to_thread(run_script)
        finally:
            logging.getLogger().removeHandler(collector)
        # The volume the suite promises: thousands of updates, not a handful.
        assert played["scripts"] >= EXAMPLES and played["actions"] >= 20 * EXAMPLES


# --- regressions this suite found (each failed before its fix) -----------------------------

def _no_apologies(bot, *chats: int) -> None:
    for chat in chats:
        assert ERROR_TEXT not in bot.texts_to(chat), bot.stub.transcript(chat)


async def test_a_strangers_start_with_a_bad_token_gets_exactly_one_line(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        for text in ("/start nope", "/start\nnope", f"/start@{TEST_BOT_USERNAME} nope",
                     "/start@other_bot nope"):
            bot.stub.send_text(STRANGERS[0], text)
        await bot.idle()
        assert bot.texts_to(STRANGERS[0]) == [INVALID_INVITATION] * 3 + [STRANGER_TEXT]


async def test_years_out_of_range_are_refused_politely(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_gerente(GERENTE)
        for text in ("/resumen 0000", "/grafica 0000-01", "/reabrir 9999-12", "/cerrar 0000 303",
                     "/recordar 0000-01"):
            reply = await bot.say(GERENTE, text)
            assert "periodo" in reply.text or "No entendí" in reply.text, (text, reply.text)
        _no_apologies(bot, GERENTE)
        assert await db.run(lambda s: s.exec(select(PeriodLock)).all()) == []


async def test_control_characters_in_remarks_are_dropped_and_the_export_still_works(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        choose = await bot.say(ANA, "/reportar")
        await bot.press(ANA, choose.buttons[0][1])
        await bot.say(ANA, "255835")
        await bot.say(ANA, "bien\x00 y\x07 mal\x1b[0m\r\nfin")
        bot.stub.send_text(ANA, "/exportar 2023-03")
        await bot.stub.wait_for_message(ANA, lambda m: m.method == "sendDocument")
        _no_apologies(bot, ANA)
    remarks = await db.run(lambda s: [v.observaciones for v in s.exec(
        select(ReportedValue).where(ReportedValue.source == "telegram"))])
    assert remarks == ["bien y mal[0m\nfin"]


async def test_forged_summary_pages_in_other_digits_are_stale(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_gerente(GERENTE)
        await bot.say(GERENTE, "/resumen")
        for data in ("rs:p:2023-03:*:²", "rs:u:2023-03:*:0:303:²", "rs:p:2023-03:*:١"):
            bot.stub.press_button(GERENTE, data)
        await bot.idle()
        answers = [c.params.get("text") for c in bot.stub.calls
                   if c.method == "answerCallbackQuery"]
        assert answers == [STALE_BUTTON_TEXT] * 3
        _no_apologies(bot, GERENTE)


async def test_two_quick_taps_on_one_keyboard_are_both_handled_without_a_refused_edit(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(BETO, ["305", "306"])
        choose = await bot.say(BETO, "/reportar")
        assert len(choose.buttons) == 2
        for _label, data in choose.buttons:  # both before the first is handled
            bot.stub.press_button(BETO, data, message_id=choose.message_id)
        await bot.idle()
        edits = [c for c in bot.stub.calls if c.method == "editMessageReplyMarkup"]
        assert [c.status for c in edits] == [200]  # the keyboard went away once
    # running_bot checks that Telegram refused nothing and every press was answered.
