"""A readable short name for an indicator. Pure.

The workbook names indicators in long capital letters ("TOMA DE LECTURAS DE MEDIDORES EN
ZONA URBANA Y RURAL DEL MUNICIPIO"); a phone needs a few words in sentence case. The office
may set ``Indicator.short_name``; without it :func:`derive_short_name` makes one:

* Spanish sentence case: first letter upper, the rest lower, except acronyms — words written
  in capitals inside a mixed-case name, words of capitals without vowels (``CFE``, ``SHCP``),
  words with digits, and a few known ones (:data:`ACRONYMS`);
* at most :data:`MAX_LENGTH` characters, cut at a word boundary (never inside a word), without
  a dangling "de", "y", "a"… at the end, marked with "…" when cut.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_LENGTH = 40
ACRONYMS = frozenset({
    "POA", "CFE", "SAT", "IMSS", "ISSSTE", "SHCP", "PTAR", "PTARS", "PTAP", "COMAPA", "CONAGUA",
    "INEGI", "RFC", "CURP", "IVA", "ISR", "MIR", "SED", "PASH", "TI", "SIG", "GPS", "UMA",
    "UMAS", "PBR", "SIAPA", "JMAS", "COMAPAS", "CEAT", "ISO", "NOM",
})
_DANGLING = frozenset({"de", "del", "la", "las", "el", "los", "y", "e", "o", "u", "a", "en",
                       "con", "por", "para", "al", "sin", "sobre"})
_VOWELS = set("AEIOUÁÉÍÓÚÜ")
_SPACES = re.compile(r"\s+")


def _is_acronym(word: str, mixed_case: bool) -> bool:
    letters = "".join(ch for ch in word if ch.isalpha())
    if not letters or not letters.isupper():
        return False
    if letters in ACRONYMS or any(ch.isdigit() for ch in word):
        return True
    if mixed_case and len(letters) > 1:
        return True  # "Toma de lecturas CFE": the capitals were meant
    return len(letters) > 1 and not (set(letters) & _VOWELS)


def sentence_case(name: str) -> str:
    """``TOMA DE LECTURAS CFE`` → ``Toma de lecturas CFE``."""
    words = _SPACES.sub(" ", name).strip().split(" ")
    if words == [""]:
        return ""
    letters = [ch for ch in name if ch.isalpha()]
    mixed_case = any(ch.islower() for ch in letters) and any(ch.isupper() for ch in letters)
    result = []
    for word in words:
        if _is_acronym(word, mixed_case):
            result.append(word)
        elif mixed_case:
            result.append(word)  # written by hand: kept as written
        else:
            result.append(word.lower())
    first = result[0]
    if not _is_acronym(words[0], mixed_case):
        result[0] = first[:1].upper() + first[1:]
    return " ".join(result)


def shorten_name(text: str, limit: int = MAX_LENGTH) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, "…" when cut."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    words = text[:limit].rsplit(" ", 1)[0].split(" ") if " " in text[:limit] else [
        text[:limit - 1]]
    while len(words) > 1 and (words[-1].lower().strip(",;:.-") in _DANGLING
                              or not words[-1].strip(",;:.-")):
        words.pop()
    return " ".join(words).rstrip(",;:.- ") + "…"


# Every card of the report flow names each pending indicator again: remember the names made
# (a catalog has some thousands; the bound keeps a state-wide one from growing without end).
@lru_cache(maxsize=16_384)
def derive_short_name(nombre: str, limit: int = MAX_LENGTH) -> str:
    """The readable default for a workbook name (see the module docstring)."""
    return shorten_name(sentence_case(nombre), limit)


def display_name(nombre: str, short_name: str | None) -> str:
    """What a phone shows: the office's short name, or the derived one."""
    chosen = (short_name or "").strip()
    return chosen if chosen else derive_short_name(nombre)
