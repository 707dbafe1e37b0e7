"""Arguments of ``/resumen``, ``/exportar`` and ``/grafica``: a period and a unit, any order.

People type what they think of first: ``/resumen 303 mar-23``, ``/resumen marzo``,
``/resumen T1 2023``. Each word is classified on its own (a 4-digit number from 2000 on is a
year, a 1–3 digit number or a known unit clave is a unit, anything else must be a period),
then a bare year completes a bare month/quarter/half (``marzo 2023``) or, alone, means the
year to date. Without a period the most recent closed month is used: the one before the
current month. Pure functions, no I/O; errors carry the Spanish text to show.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.periods import Period, PeriodError, parse_period

MIN_YEAR = 2000
_YEAR = re.compile(r"\d{4}")
_UNIT = re.compile(r"\d{1,3}")

ACCEPTED_PERIOD_FORMS = (
    "• mes: <code>2023-03</code>, <code>mar-23</code>, <code>marzo</code>, "
    "<code>marzo 2023</code>\n"
    "• trimestre: <code>T1</code>, <code>2023-T1</code>, <code>2023-Q1</code>\n"
    "• semestre: <code>S1</code>, <code>2023-S1</code>\n"
    "• año a la fecha: <code>2023</code>"
)
ACCEPTED_UNIT_FORM = "• unidad: su clave, p. ej. <code>303</code>"


class ArgumentsError(ValueError):
    """Arguments we cannot use. ``str()`` is the Spanish explanation (HTML, already escaped)."""


@dataclass(frozen=True)
class SummaryArgs:
    period: Period
    unit_clave: str | None = None
    explicit_period: bool = True  # False when the default (last closed month) was used


def most_recent_closed_month(today: date) -> Period:
    """The last month that has ended by ``today`` (the month before today's)."""
    return Period.month(today.year, today.month).previous()


def _names_no_year(word: str) -> bool:
    # Two arbitrary years parse_period accepts: a word naming no year follows the default.
    return parse_period(word, default_year=2001) != parse_period(word, default_year=2002)


def accepted_forms(command: str, *, allow_unit: bool) -> str:
    """The help text listing every accepted form, with an example (HTML)."""
    lines = [ACCEPTED_PERIOD_FORMS]
    if allow_unit:
        lines.append(ACCEPTED_UNIT_FORM)
    example = f"/{command} mar-23 303" if allow_unit else f"/{command} 2023-T1"
    order = " en cualquier orden" if allow_unit else ""
    return ("Formas aceptadas" + order + ":\n" + "\n".join(lines)
            + f"\nEjemplo: <code>{example}</code>\n"
            "Sin periodo se usa el último mes cerrado.")


def parse_summary_args(
    words: Sequence[str],
    *,
    today: date,
    command: str = "resumen",
    allow_unit: bool = True,
    known_units: Iterable[str] | None = None,
) -> SummaryArgs:
    """Classify ``words`` into a period and an optional unit clave.

    ``today`` is the local date (it gives the default period and the year of ``marzo``/``T1``).
    ``known_units`` lets claves that are not 1–3 digits (``303A``) be recognised too.
    Raises :class:`ArgumentsError` with the accepted forms for anything else.
    """
    default = most_recent_closed_month(today)
    units = {u.strip().upper() for u in known_units or ()}
    year: int | None = None
    period_words: list[str] = []
    unit: str | None = None

    def fail(reason: str) -> ArgumentsError:
        return ArgumentsError(f"{reason}\n\n{accepted_forms(command, allow_unit=allow_unit)}")

    for raw in (w for word in words for w in word.split()):
        word = raw.strip().strip(",;")
        if not word:
            continue
        shown = html.escape(word[:40])
        if _YEAR.fullmatch(word) and int(word) >= MIN_YEAR:
            if year is not None:
                raise fail(f"Indicaste dos años ({year} y {shown}).")
            year = int(word)
        elif _UNIT.fullmatch(word) or word.upper() in units:
            if not allow_unit:
                raise fail(f"/{command} no lleva unidad («{shown}»).")
            if unit is not None:
                raise fail(f"Indica una sola unidad (escribiste {html.escape(unit)} y {shown}).")
            unit = word.upper()
        else:
            period_words.append(word)

    if len(period_words) > 1:
        shown = html.escape(" ".join(period_words)[:60])
        raise fail(f"Indica un solo periodo (escribiste «{shown}»).")
    if period_words:
        try:
            period = parse_period(period_words[0], default_year=year or today.year)
            if year is None and period.start > today and _names_no_year(period_words[0]):
                # "diciembre" typed in February means the December just gone.
                period = parse_period(period_words[0], default_year=today.year - 1)
        except PeriodError:
            raise fail(f"No entendí «{html.escape(period_words[0][:40])}».") from None
        if period.kind == "Y":  # "2023" typed with a separator would land here too
            if year is not None and year != period.year:
                raise fail(f"Indicaste dos años ({period.year} y {year}).")
        elif year is not None and period.year != year:
            raise fail(f"«{html.escape(period_words[0][:40])}» ya dice el año; "
                       f"sobra {year}.")
    elif year is not None:
        period = Period.whole_year(year)
    else:
        period = default

    if period.start > today:
        raise fail(f"El periodo {html.escape(period.label)} aún no comienza.")
    return SummaryArgs(period=period, unit_clave=unit,
                       explicit_period=bool(period_words) or year is not None)
