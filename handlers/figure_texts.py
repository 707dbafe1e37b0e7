"""How figures are shown around typing a value: a figure as stored with its unit, the hint of
a share-of-year % indicator, the "¿Es correcto?" reasons and the choice between two readings
(the rules themselves are ``bot.domain.typed_figures``). Spanish HTML, every text escaped.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain.numbers import format_number, format_percent
from bot.domain.periods import Period, strip_accents
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
from handlers.common import esc, shorten
from handlers.reminders import long_date


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
    text = (f"Escribiste <b>{with_unit(screen.value, card)}</b> para <b>{esc(card.name)}</b>, "
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
    return (f"Escribiste «{esc(screen.typed)}» para <b>{esc(card.name)}</b> "
            f"(meta {with_unit(card.meta, card)}). ¿Quisiste decir {options}?\n"
            "Toca la cifra correcta o escribe el valor de nuevo (para miles usa coma: "
            f"{thousands}; para decimales, punto: {decimal}).")


# --- the short card, the batch table, the justification ----------------------------------------

def _plain(text: str) -> str:
    return " ".join(strip_accents(text).lower().split())


def value_of(value: Decimal | None, card) -> str:
    """«<b>3,521</b> lecturas», without repeating the name as the unit: a unit that is the
    indicator's own name («TOMA DE LECTURAS» for TOMA DE LECTURAS) is left out."""
    unit = (card.unidad_medida or "").strip()
    shown = f"<b>{fmt(value, card.percent)}</b>"
    if card.percent or value is None or not unit or _plain(unit) in _plain(card.nombre):
        return shown
    return f"{shown} {esc(unit.lower())}"


def short_cards_text(screen) -> str:
    """All pending values on one card: short names, this period's meta, last values."""
    one = len(screen.cards) == 1
    left = screen.total - screen.position + 1
    lines = [f"<b>{esc(screen.unit.clave)} {esc(screen.unit.nombre)} · {screen.period.label}</b>"
             f" · faltan {left} de {screen.total}"]
    if screen.late_until is not None:
        until = long_date(screen.late_until)
        lines.append(f"⏰ El plazo ya venció: recibo valores hasta el {until} y quedan como "
                     "tardíos.")
    for number, short in enumerate(screen.cards, 1):
        card = short.card
        facts = [f"meta {fmt(short.meta, card.percent)}"]
        if card.previous:
            facts.append(f"{period_label(card.previous[0])}: {fmt(card.previous[1], card.percent)}")
        if short.last_year:
            facts.append(f"{period_label(short.last_year[0])}: "
                         f"{fmt(short.last_year[1], card.percent)}")
        prefix = "" if one else f"{number}. "
        lines.append(f"{prefix}<b>{esc(card.name)}</b> · " + " · ".join(facts))
        hint = cumulative_hint(card)
        if hint:
            lines.append(f"   <i>{hint}</i>")
    if one:
        example = "8.33%" if screen.cards[0].card.percent else "1,250"
        lines.append(f"Escribe el valor (p. ej. {example}).")
    else:
        lines.append(f"Escribe los {len(screen.cards)} valores en un mensaje, en este orden, "
                     "separados por espacios o uno por línea; o solo el del 1.")
    return "\n".join(lines)


def batch_table_text(screen) -> str:
    lines = [f"<b>Revisa · {screen.period.label}</b>"]
    for number, row in enumerate(screen.rows, 1):
        card = row.card
        if row.value is None:
            options = " o ".join(fmt(v, card.percent) for v in row.readings)
            lines.append(f"{number}. {esc(card.name)}: «{esc(row.typed)}» ❓ ¿{options}? "
                         "Te pregunto al guardar.")
            continue
        mark = " ⚠️ te lo confirmo al guardar" if row.check and not row.check.ok else ""
        lines.append(f"{number}. {esc(card.name)}: <b>{fmt(row.value, card.percent)}</b>{mark}")
    lines.append("¿Está bien?")
    return "\n".join(lines)


def descriptions_text(cards) -> str:
    lines = []
    for number, card in enumerate(cards, 1):
        lines.append(f"<b>{number}. {esc(card.name)}</b>\n{esc(shorten(card.nombre, 200))}")
        if card.descripcion:
            lines.append(f"<i>{esc(shorten(card.descripcion, 300))}</i>")
    return "\n".join(lines) or "Sin descripciones."


def saved_text(value: Decimal, card, note: str = "", *, named: bool = False) -> str:
    """«✅ Guardé <b>1,100</b>.» (with the indicator's name when ``named``), and how the
    typed figure was read, if that needed saying (``note``)."""
    where = f" en <b>{esc(card.name)}</b>" if named else ""
    return (f"✅ Guardé {value_of(value, card)}{where}."
            + (f" <i>{esc(note)}</i>" if note else ""))


def justification_prompt(screen) -> str:
    card = screen.card
    saved = ""
    if screen.saved_now:  # the value typed a moment ago: say it was kept, as AskRemarks does
        saved = saved_text(screen.value, card, screen.note) + "\n"
    figures = f"{value_of(screen.value, card)}; meta {fmt(screen.meta, card.percent)}"
    if screen.year is not None:  # what the year-to-date verdict compared
        figures += (f"; acumulado {fmt(screen.year[0], card.percent)} de "
                    f"{fmt(screen.year[1], card.percent)}")
    return (saved + f"<b>{esc(card.name)}</b> quedó fuera de verde en {esc(screen.which)} "
            f"({figures}).\n"
            "Escribe la <b>justificación de la variación</b>: la causa y qué se hará. "
            "Es obligatoria y va en el reporte.")
