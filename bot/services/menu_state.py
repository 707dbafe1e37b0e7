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


def menus_to_set(session: Session, fingerprints: Mapping[str, str],
                 chat_id: int | None = None) -> list[tuple[int, str]]:
    """(chat_id, role) of active people whose chat does not show their role's menu. With
    ``chat_id``, that chat only: the start-up sync asks again just before its paced
    ``setMyCommands``, since a registration or role change may have set a newer menu."""
    statement = (select(Person.chat_id, Person.role, MenuState.menu)
                 .outerjoin(MenuState, MenuState.chat_id == Person.chat_id)
                 .where(col(Person.active).is_(True), col(Person.chat_id).is_not(None))
                 .order_by(Person.id))
    if chat_id is not None:
        statement = statement.where(Person.chat_id == chat_id)
    return [(chat, role) for chat, role, menu in session.exec(statement).all()
            if role in fingerprints and menu != fingerprints[role]]


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
