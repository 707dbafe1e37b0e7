"""The «📎» button other flows show to attach evidence to a value (the ``ev:t`` press is
answered by :mod:`handlers.evidence`). Its own module so that the report's screens can offer
it without importing the evidence handlers, which import the report's renderer."""

from __future__ import annotations

from handlers.common import callback_data

PREFIX = "ev"  # every evidence button: handlers.evidence's CallbackQueryHandler pattern


def target_button(indicator_id: int, period_code: str,
                  label: str = "📎 Adjuntar evidencia") -> tuple[str, str]:
    """A button that makes the next files evidence of an indicator and period."""
    return (label, callback_data(PREFIX, "t", indicator_id, period_code))
