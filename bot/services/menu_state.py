"""Which Telegram command menu was last set in each chat (table ``menu_state``).

Setting every registered person's menu at each start-up cost one ``setMyCommands`` per
person (3,000 calls) before polling started. The menu set in a chat is remembered by a
fingerprint of the command list (``handlers.menus.menu_fingerprint``), so start-up sets only
the menus of people who are new, changed role, or whose role's commands changed in a new
version. The default (strangers') menu is remembered under chat id 0, which no Telegram chat
has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import MenuState, Person

DEFAULT_SCOPE_CHAT = 0  # the default scope's row; Telegram chat ids are never 0


def menus_to_set(session: Session, fingerprints: Mapping[str, str]) -> list[tuple[int, str]]:
    """(chat_id, role) of active people whose chat does not show their role's menu."""
    rows = session.exec(
        select(Person.chat_id, Person.role, MenuState.menu)
        .outerjoin(MenuState, MenuState.chat_id == Person.chat_id)
        .where(col(Person.active).is_(True), col(Person.chat_id).is_not(None))
        .order_by(Person.id)).all()
    return [(chat_id, role) for chat_id, role, menu in rows
            if role in fingerprints and menu != fingerprints[role]]


def menu_due(session: Session, chat_id: int, fingerprints: Mapping[str, str]) -> str | None:
    """The role whose menu ``chat_id`` should be given now, or None when it already shows it
    (or its person is gone or inactive): re-checked just before a start-up ``setMyCommands``,
    since a registration or role change may have set a newer menu in the meantime."""
    rows = session.exec(
        select(Person.role, MenuState.menu)
        .outerjoin(MenuState, MenuState.chat_id == Person.chat_id)
        .where(Person.chat_id == chat_id, col(Person.active).is_(True))).all()
    for role, menu in rows:
        if role in fingerprints and menu != fingerprints[role]:
            return role
    return None


def menu_shown(session: Session, chat_id: int) -> str | None:
    """The fingerprint of the menu last set in ``chat_id`` (None: never set)."""
    state = session.get(MenuState, chat_id)
    return None if state is None else state.menu


def record_menu(session: Session, chat_id: int, fingerprint: str, now: datetime) -> None:
    """Remember that ``chat_id`` now shows the menu of ``fingerprint``."""
    state = session.get(MenuState, chat_id)
    if state is None:
        session.add(MenuState(chat_id=chat_id, menu=fingerprint, set_at=now))
    else:
        state.menu, state.set_at = fingerprint, now
        session.add(state)
