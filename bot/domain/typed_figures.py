"""What a person typed, read for ONE indicator: a value, a choice between two readings, or a
Spanish refusal. Pure, Decimal only.

:func:`bot.domain.numbers.parse_number` reads the es-MX form strictly (``,`` thousands, ``.``
decimals) for every source. People typing on a phone write more than that, and what they mean
depends on the indicator (:class:`FigureRules`):

* **A number first, words after**: ``115 reconexiones``, ``1,084 cortes``, ``8.33 % de
  avance`` are the number. Words that multiply or spell numbers (``5 mil``, ``quinientos``)
  and any other digits after the number (``5 3``, ``1e5``) are refused with an example.
* **% indicators**: a lone comma is a decimal comma (``8,33`` and ``8,33 %`` are 8.33: a
  percentage in the thousands means nothing); ``por ciento`` is ``%``.
* **Other indicators** (counts above all, whose unit is not ``%``): many phones write
  thousands with dots. ``1.250.000`` (several dot groups of three) can only be thousands, and
  is read so and said so; ``3.040`` (one dot, exactly three digits after it) may be 3,040 or
  3.04, so the person chooses (:class:`Choice`). ``1,5`` stays refused as ambiguous.
* **A ``%`` sign on an indicator that is not measured in %** is refused.

Whether the value is then plausible (a fraction on a count, the month's share typed where the
cumulative % is expected) is :meth:`FigureRules.check`, which asks before saving.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.attainment import is_share_of_year
from bot.domain.numbers import NumberError, format_number, parse_number
from bot.domain.periods import Period
from bot.domain.plausibility import Plausibility, check_plausibility

MAX_TYPED = 200  # characters looked at; a longer message is not a figure

# Spaces people and spreadsheets put between thousands (as bot.domain.numbers accepts them).
_SPACES = "[ \u00a0\u2009\u202f]"
# A leading figure: optional sign, digits with dots/commas, thousands groups split by spaces
# ("1 084"), then an optional % sign; whatever follows is "the rest".
_LEADING = re.compile(
    rf"(?P<number>[+\-\u2212\u2013]?{_SPACES}*[.,]?[0-9][0-9.,]*"
    rf"(?:{_SPACES}[0-9]{{3}}(?![0-9])[0-9.,]*)*)"
    rf"{_SPACES}*(?P<percent>%?)(?P<rest>.*)", re.DOTALL)
_PER_CENT = re.compile(r"^\s*por\s*ciento\b", re.IGNORECASE)
_DOT_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(\.[0-9]{3})+")  # 1.250.000 / 3.040
_WORD = re.compile(r"[^\W\d_]+")

# Words that spell or multiply a number (accents removed, lower case).
_NUMBER_WORDS = frozenset((
    "cero", "un", "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho",
    "nueve", "diez", "once", "doce", "trece", "catorce", "quince", "veinte", "treinta",
    "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa", "cien", "ciento",
    "quinientos", "quinientas", "mil", "miles", "millon", "millones", "millar", "millares",
    "billon", "billones", "docena", "docenas", "decena", "decenas", "centena", "centenas",
    "medio", "media", "k", "mdp", "mmdp", "punto", "coma",
))


@dataclass(frozen=True)
class FigureRules:
    """How one indicator's figures are written and judged."""

    percent: bool  # measured in % (cumulative or rate)
    meta: Decimal  # per period
    unidad_medida: str
    period: Period

    @classmethod
    def for_card(cls, card, period: Period) -> FigureRules:
        """From anything with ``percent``, ``meta`` and ``unidad_medida`` (an IndicatorCard)."""
        return cls(card.percent, card.meta, card.unidad_medida, period)

    @property
    def counts(self) -> bool:
        """Counts things (unit not %, whole-number meta): its value is never a fraction."""
        return not self.percent and self.meta == self.meta.to_integral_value()

    @property
    def share_of_year(self) -> bool:
        """A % meta that is the period's share of the year (8.33 % a month): the value typed
        is the cumulative % at the end of the period."""
        return self.percent and is_share_of_year(self.meta,
                                                 self.period.frequency.periods_per_year)

    @property
    def meta_to_period(self) -> Decimal | None:
        """For a share-of-year indicator, the meta accumulated to the end of the period
        (what :func:`bot.domain.attainment.percent_attainment` compares the value with)."""
        return self.meta * self.period.index if self.share_of_year else None

    def check(self, value: Decimal, history: Sequence[Decimal], *,
              chosen: bool = False) -> Plausibility:
        """Reasons to ask before saving ``value``. ``chosen``: the person picked this reading
        on a :class:`Choice` screen, so a fraction there is what they meant."""
        return check_plausibility(
            value, self.meta, history, percent=self.percent,
            whole=self.counts and not chosen,
            cumulative_periods=self.period.index if self.share_of_year else 0)

    def example(self) -> str:
        """How a valid answer looks, for refusals."""
        if self.percent:
            return "Por ejemplo: 8.33 o 8.33%."
        unit = self.unidad_medida.strip().lower()
        return f"Por ejemplo: 1250, 1,250 o 1,250 {unit}." if unit else (
            "Por ejemplo: 1250 o 1,250.")


@dataclass(frozen=True)
class Reading:
    value: Decimal
    note: str = ""  # how the text was read, when that is not obvious (Spanish)


@dataclass(frozen=True)
class Choice:
    """Two ways to read the text: the person picks one (thousands first)."""

    typed: str
    readings: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class Refusal:
    message: str  # Spanish: what is wrong and an example of what works


def read_figure(text: str, rules: FigureRules) -> Reading | Choice | Refusal:
    """Interpret ``text`` as the value of the indicator described by ``rules``."""
    raw = (text or "").strip()
    if not raw:
        return Refusal(f"No escribiste ningún número. {rules.example()}")
    if len(raw) > MAX_TYPED:
        return Refusal(f"Eso no parece una cifra. Escribe solo el número. {rules.example()}")
    match = _LEADING.match(raw)
    if match is None:
        return _not_a_number(raw, rules)
    number, rest = match["number"], match["rest"].strip()
    percent = bool(match["percent"])
    if not percent and _PER_CENT.match(rest):
        percent, rest = True, _PER_CENT.sub("", rest).strip()
    if rest and (re.search(r"[0-9]", rest) or _has_number_word(rest)):
        return _not_a_number(raw, rules)
    if percent and not rules.percent:
        unit = rules.unidad_medida.strip() or "unidades"
        return Refusal(f"Este indicador se mide en {unit}, no en porcentaje: escribe la "
                       f"cantidad, sin el signo %. {rules.example()}")
    body = re.sub(_SPACES, "", number)
    note = ""
    if rules.percent and body.count(",") == 1 and "." not in body:
        # 8,33 %: a percentage in the thousands means nothing, so the comma is decimal.
        body = body.replace(",", ".")
    elif not rules.percent and "," not in body and _DOT_THOUSANDS.fullmatch(body.lstrip("+")):
        thousands = Decimal(body.replace(".", ""))
        if body.count(".") > 1:
            note = (f"Leí «{number.strip()}» como {format_number(thousands)}: "
                    "los puntos separan miles.")
            return Reading(thousands, note)
        return Choice(number.strip(), (thousands, Decimal(body.lstrip("+"))))
    try:
        parsed = parse_number(body)
    except NumberError as error:
        if error.reason == "not_a_number":
            return _not_a_number(raw, rules)
        return Refusal(f"{error} {rules.example()}")
    return Reading(parsed.value, note)


def _has_number_word(text: str) -> bool:
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text.lower())
                    if not unicodedata.combining(ch))
    return any(word in _NUMBER_WORDS or word.endswith("cientos") or word.endswith("cientas")
               or word.startswith(("dieci", "veinti"))
               for word in _WORD.findall(plain))


def _not_a_number(raw: str, rules: FigureRules) -> Refusal:
    shown = raw if len(raw) <= 40 else raw[:39] + "…"
    if _has_number_word(raw):
        return Refusal(f"Escribe la cifra con números, no con palabras («{shown}»). "
                       f"{rules.example()}")
    return Refusal(f"«{shown}» no es un número. Escribe la cifra con números al principio. "
                   f"{rules.example()}")
