"""Numbers as people in Mexico write them, and as the POA workbook prints them.

es-MX uses ``,`` for thousands and ``.`` for decimals (``255,835``, ``8.33%``). A comma
followed by anything other than groups of three digits (``1,5``) is ambiguous — a person
used to ``1,5`` meaning one and a half would be silently misread — so it is refused.
Values are always :class:`~decimal.Decimal`. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

LOCALE = "es_MX"
MAX_DIGITS = 15
MAX_DECIMALS = 3
_LOCALE = Locale.parse(LOCALE)

# Spaces people and spreadsheets put between thousands: plain, no-break, thin, narrow no-break.
_GROUP_SPACES = re.compile(r"[ \u00a0\u2009\u202f]")
_MINUS_SIGNS = ("-", "\u2212", "\u2013")


class NumberError(ValueError):
    """A text that is not an acceptable figure; ``reason`` is a stable code, ``str()`` Spanish."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ParsedNumber:
    value: Decimal
    percent: bool  # the text carried a % sign


def parse_number(text: str) -> ParsedNumber:
    """Parse ``255835``, ``255,835``, ``1 084``, ``8.33%``, ``8.33`` into a Decimal.

    Raises :class:`NumberError` with a Spanish message for text, negatives, ambiguous
    commas, more than 15 digits or more than 3 decimals.
    """
    raw = (text or "").strip()
    if not raw:
        raise NumberError("empty", "No escribiste ningún número.")
    percent = raw.endswith("%")
    body = raw[:-1].strip() if percent else raw
    body = _GROUP_SPACES.sub("", body)
    if body.startswith(_MINUS_SIGNS):
        raise NumberError("negative", "El valor no puede ser negativo.")
    if body.startswith("+"):
        body = body[1:]
    if not re.fullmatch(r"[0-9.,]+", body) or not re.search(r"[0-9]", body):
        raise NumberError("not_a_number", f"«{_short(raw)}» no es un número. "
                          "Escribe solo la cifra, por ejemplo 1,250 o 8.33%.")
    if body.count(".") > 1:
        raise NumberError("malformed", f"«{_short(raw)}» tiene más de un punto decimal.")
    integer, _, decimals = body.partition(".")
    if "," in decimals:
        raise NumberError("malformed", f"«{_short(raw)}» tiene una coma después del punto.")
    if "," in integer:
        groups = integer.split(",")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise NumberError(
                "ambiguous",
                f"«{_short(raw)}» es ambiguo: usa la coma solo para miles (1,250) "
                "y el punto para decimales (1.5).",
            )
        integer = "".join(groups)
    if not integer:
        integer = "0"
    digits = len(integer.lstrip("0") or "0") + len(decimals)
    if digits > MAX_DIGITS:
        raise NumberError("too_long", f"El número tiene más de {MAX_DIGITS} dígitos.")
    if len(decimals) > MAX_DECIMALS:
        raise NumberError("too_precise", f"Usa como máximo {MAX_DECIMALS} decimales.")
    try:
        value = Decimal(f"{integer}.{decimals}" if decimals else integer)
    except InvalidOperation as exc:  # pragma: no cover - the regex above already guards
        raise NumberError("not_a_number", f"«{_short(raw)}» no es un número.") from exc
    return ParsedNumber(value=value, percent=percent)


def parse_decimal(text: str) -> Decimal:
    """Like :func:`parse_number` but returns only the value."""
    return parse_number(text).value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_number(value: Decimal | int, decimals: int | None = None) -> str:
    """``Decimal('255835')`` → ``255,835``; shows decimals only where the value has them."""
    return _formatted(Decimal(value) or _ZERO, decimals)  # a -0 shows as 0


_ZERO = Decimal(0)


# Equal values give the same text (decimals come from the value, not from how it is written),
# so texts are kept: a report card shows the same metas at every message, and Babel takes
# ~4 µs a figure (a tenth of the event loop's rendering of a card).
@functools.lru_cache(maxsize=2048)
def _formatted(value: Decimal, decimals: int | None) -> str:
    if decimals is None:
        decimals = 0 if value == value.to_integral_value() else min(
            MAX_DECIMALS, max(0, -value.normalize().as_tuple().exponent))
    quantum = Decimal(1).scaleb(-decimals)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return _pattern(decimals).apply(rounded, _LOCALE, decimal_quantization=True)


@functools.cache
def _pattern(decimals: int) -> NumberPattern:
    # What babel.numbers.format_decimal does on every call, parsed once: a /resumen of the
    # state-wide catalog formats 50,000 figures, and the parsing was most of its rendering.
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))


def format_percent(value: Decimal | None, decimals: int = 2) -> str:
    """A percentage already expressed in points: ``Decimal('8.3333')`` → ``8.33%``."""
    if value is None:
        return "—"
    return f"{format_number(value, decimals)}%"


def round_display(value: Decimal, decimals: int = 2) -> Decimal:
    """Round half-up for display only; the engine keeps full precision."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
