"""What a typed remark (*observaciones*) means for the official workbook. Pure functions.

People answer the remarks question the way they answer a colleague: "no", "ninguna",
"sin observaciones", "👍". None of that is a remark the utility would sign under OBSERVACIONES,
so it is stored as no remark at all instead of as text.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.periods import strip_accents

# Compared without accents, case, punctuation or repeated spaces.
_NO_REMARKS = frozenset({
    "no", "ninguna", "ninguno", "nada", "na", "n a", "no hay", "no aplica",
    "sin observaciones", "sin observacion", "sin obs", "sin comentarios", "sin comentario",
    "sin novedad", "sin novedades", "ninguna observacion", "no hay observaciones",
    "no tengo", "no tengo observaciones", "ok", "listo",
})
_NOT_WORDS = re.compile(r"[^a-z0-9]+")


def means_no_remarks(text: str) -> bool:
    """True for answers that say "no remarks" (words above, or only emoji and punctuation)."""
    stripped = text.strip()
    if not any(unicodedata.category(ch)[0] in "LN" for ch in stripped):
        return True  # empty, emoji-only, punctuation-only ("-", "…", "👍🏽")
    words = _NOT_WORDS.sub(" ", strip_accents(stripped).lower()).strip()
    return words in _NO_REMARKS

