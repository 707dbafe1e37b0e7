"""What every handler needs besides the update, and where the Application keeps it.

Its own module so that handlers (which read it) and ``bot.app`` (which stores it and imports
the handlers) both depend on it instead of on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.settings import Settings
from storage.db import Database

BOT_DATA_KEY = "poa"  # application.bot_data[BOT_DATA_KEY] is the AppContext


@dataclass(frozen=True)
class AppContext:
    """Configuration, storage and time, stored by ``bot.app.build_application``."""

    settings: Settings
    db: Database
    clock: Clock
