"""How figures are shown around typing a value: a figure as stored with its unit, the hint of
a share-of-year % indicator, the "¿Es correcto?" reasons and the choice between two readings
(the rules themselves are ``bot.domain.typed_figures``). Spanish HTML, every text escaped.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain.numbers import format_number, format_percent
from bot.domain.periods import Period
from bot.domain.plausibility import (
    FAR_FROM_HISTORY,
    FAR_FROM_META,
    FRACTION,
    OVER_100_PERCENT,
    PERIOD_SHARE,
    ZERO,
)
from bot.domain.typed_figures import FigureRules
from bot.services import conversation as conv
from handlers.common import esc


def fmt(value: Decimal | None, percent: bool = False) -> str:
    """A figure as stored (every decimal it has, up to the 3 a value may carry), es-MX."""
    if value is None:
        return "—"
    return f"{format_number(value)}%" if percent else format_number(value)


def with_unit(value: Decimal | None, card_or_row) -> str:
    percent = card_or_row.percent
    text = fmt(value, percent)
    if percent or value is None or not card_or_row.unidad_medida:
        return text
    return f"{text} {esc(card_or_row.unidad_medida)}"


def period_label(code_or_period) -> str:
    period = code_or_period if isinstance(code_or_period, Period) else (
        conv.reporting.parse_period_code(code_or_period))
    return period.label if period else str(code_or_period)


def _rules(card) -> FigureRules | None:
    period = conv.reporting.parse_period_code(card.period_code)
    return None if period is None else FigureRules.for_card(card, period)


def cumulative_hint(card) -> str:
    """What to type on a share-of-year % indicator (the cumulative %), or ''."""
    rules = _rules(card)
    if rules is None or not rules.share_of_year:
        return ""
    label = period_label(card.period_code)
    return (f"Escribe el % acumulado en el año hasta {label}, no solo el del periodo; "
            f"la meta a {label} es {format_percent(rules.meta_to_period)}.")


REASON_TEXT = {
    FAR_FROM_META: "está muy lejos de la meta ({meta})",
    FAR_FROM_HISTORY: "es muy distinto de lo que sueles reportar ({usual})",
    ZERO: "es cero",
    OVER_100_PERCENT: "pasa de 100%",
    FRACTION: "tiene decimales, pero los {unit} se cuentan enteros",
    PERIOD_SHARE: ("parece el avance de un solo periodo (la meta de cada periodo es {meta}), "
                   "pero aquí va el % acumulado a {label}, cuya meta es {meta_to_period}"),
}


def confirm_text(screen: conv.AskConfirm) -> str:
    card = screen.card
    rules = _rules(card)
    label = period_label(card.period_code)
    reasons = [REASON_TEXT[r].format(
        meta=with_unit(card.meta, card), usual=with_unit(screen.check.usual, card),
        unit=esc(card.unidad_medida.lower() or "unidades"), label=label,
        meta_to_period=format_percent(rules.meta_to_period if rules else None))
        for r in screen.check.reasons]
    note = f"\n<i>{esc(screen.note)}</i>" if screen.note else ""
    text = (f"Escribiste <b>{with_unit(screen.value, card)}</b> para <b>{esc(card.nombre)}</b>, "
            f"y {' y '.join(reasons)}.{note}")
    if PERIOD_SHARE in screen.check.reasons:
        shown = with_unit(screen.value, card)
        text += (f"\n• Si {shown} es lo acumulado en el año a {label}, toca «Sí, es correcto»."
                 f"\n• Si {shown} es solo lo de {label}, toca «Corregir» y escribe el "
                 "acumulado: lo que llevabas")
        text += (f" ({with_unit(card.previous[1], card)} a {period_label(card.previous[0])})"
                 if card.previous else "") + " más lo de este periodo."
    return text + "\n¿Es correcto?"


def choice_text(screen: conv.ChooseReading) -> str:
    card = screen.card
    options = " o ".join(f"<b>{with_unit(v, card)}</b>" for v in screen.readings)
    thousands, decimal = fmt(screen.readings[0]), fmt(screen.readings[-1])
    return (f"Escribiste «{esc(screen.typed)}» para <b>{esc(card.nombre)}</b> "
            f"(meta {with_unit(card.meta, card)}). ¿Quisiste decir {options}?\n"
            "Toca la cifra correcta o escribe el valor de nuevo (para miles usa coma: "
            f"{thousands}; para decimales, punto: {decimal}).")
