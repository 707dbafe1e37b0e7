"""The summary as Telegram pages: HTML text of at most 4096 characters, split at unit bounds.

Pure functions over :class:`bot.services.summary.Summary` (no Telegram, no I/O), so the
splitting is tested on its own and the chat shows exactly the figures of
``poa-bot resumen``. Every catalog or user text is escaped here.

* The **overview** opens with completeness and timeliness ("8 de 9 coordinaciones
  reportaron; 2 fuera de tiempo"), a count of indicators per band, then each unit with its
  indicators (value vs meta, period attainment, cumulative % of the annual target against
  the expected %, a status mark). Units are never split between pages unless one unit alone
  does not fit a page; then it continues on the next page with "(continúa)".
* A unit's **detail** adds description-level facts: remarks, missing periods, lateness,
  responsible people; it is paged the same way.

:func:`restrict_summary` narrows a summary to some units (a coordinador's), recomputing its
totals with the rules of :func:`bot.services.summary.build_summary`.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.domain.attainment import STATUS_ORDER, Status
from bot.domain.numbers import format_number, format_percent
from bot.services.summary import (
    Completeness,
    IndicatorLine,
    Summary,
    Timeliness,
    UnitSummary,
)

PAGE_LIMIT = 3900  # below Telegram's 4096, leaving room for the page header
NAME_WIDTH = 70
DETAIL_NAME_WIDTH = 300
REMARK_WIDTH = 160


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- scope -----------------------------------------------------------------------------------

def restrict_summary(summary: Summary, claves: Iterable[str]) -> Summary:
    """``summary`` with only the units in ``claves``, totals recomputed."""
    wanted = set(claves)
    units = [unit for unit in summary.units if unit.clave in wanted]
    lines = [line for unit in units for line in unit.lines]
    due = [line for line in lines if line.due]
    due_units = [unit for unit in units if any(line.due for line in unit.lines)]
    counts = Counter(line.status for line in lines)
    return replace(
        summary, units=units,
        completeness=Completeness(
            units_reported=sum(1 for unit in due_units if unit.all_reported),
            units_due=len(due_units),
            indicators_reported=sum(1 for line in due if not line.missing_periods),
            indicators_due=len(due)),
        timeliness=Timeliness(
            on_time=sum(1 for line in due if not line.missing_periods and not line.late),
            due=len(due), late=sum(1 for line in due if line.late)),
        status_counts={status: counts.get(status, 0) for status in STATUS_ORDER},
        missing=[m for m in summary.missing if m.unit_clave in wanted])


# --- text pieces -----------------------------------------------------------------------------

def band_labels(summary: Summary) -> dict[Status, str]:
    """Band names with the configured thresholds: "más de 100 %", "80–99 %"..."""
    green, yellow = summary.bands.green, summary.bands.yellow

    def upper(limit: Decimal) -> str:
        # "80–99 %" for whole thresholds, as people say it; exact otherwise.
        return format_number(limit - 1) if limit == limit.to_integral_value() else (
            "<" + format_number(limit))

    on_target = "100 %" if green == 100 else f"{format_number(green)}–100 %"
    return {
        Status.ABOVE: "más de 100 %",
        Status.ON_TARGET: on_target,
        Status.CLOSE: f"{format_number(yellow)}–{upper(green)} %",
        Status.BEHIND: f"menos de {format_number(yellow)} %",
        Status.MISSING: "sin reportar",
        Status.NOT_DUE: "aún no vence",
    }


def _figure(value: Decimal | None, unidad_medida: str) -> str:
    if value is None:
        return "—"
    text = format_number(value)
    return f"{text}%" if unidad_medida.strip() == "%" else text


def _period_note(line: IndicatorLine, summary: Summary) -> str:
    return "" if line.period == summary.period.code else f" ({esc(line.period)})"


def header_lines(summary: Summary, scope: str | None = None) -> list[str]:
    """Title, completeness/timeliness and the band counts."""
    done = summary.completeness
    late_units = sum(1 for unit in summary.units if unit.late)
    title = f"<b>Resumen POA · {esc(summary.period.label)}</b>"
    if scope:
        title += f" · {esc(scope)}"
    lines = [title,
             f"Avance esperado: {format_percent(summary.expected)} · corte "
             f"{summary.today.strftime('%d/%m/%Y')}"]
    if done.units_due:
        word = "coordinación" if done.units_due == 1 else "coordinaciones"
        verb = "reportó" if done.units_reported == 1 and done.units_due == 1 else "reportaron"
        lines.append(f"📋 {done.units_reported} de {done.units_due} {word} {verb}; "
                     f"{late_units} fuera de tiempo")
        lines.append(f"Indicadores: {done.indicators_reported} de {done.indicators_due} "
                     f"reportados; {summary.timeliness.on_time} a tiempo")
    else:
        lines.append("📋 Nada vence todavía en este periodo.")
    labels = band_labels(summary)
    counts = [f"{status.light} {labels[status]}: {summary.status_counts.get(status, 0)}"
              for status in STATUS_ORDER
              if status is not Status.NOT_DUE or summary.status_counts.get(status, 0)]
    lines.append(" · ".join(counts))
    return lines


def unit_title(unit: UnitSummary) -> str:
    mark = "✅" if unit.all_reported else "⏳"
    late = " · ⏰ fuera de tiempo" if unit.late else ""
    return f"<b>{esc(unit.clave)} · {esc(_short(unit.nombre, NAME_WIDTH))}</b> {mark}{late}"


def indicator_text(line: IndicatorLine, summary: Summary, *, detail: bool = False) -> str:
    """Two lines: mark and name; value vs meta, attainment, cumulative vs expected."""
    width = DETAIL_NAME_WIDTH if detail else NAME_WIDTH
    name = (f"{line.status.light} {esc(_short(line.nombre, width))}"
            f"{_period_note(line, summary)}")
    meta = _figure(line.meta, line.unidad_medida)
    if line.value is None:
        figures = f"   {line.status.label.lower()} · meta {meta}"
    else:
        figures = (f"   {_figure(line.value, line.unidad_medida)} de {meta} · "
                   f"{format_percent(line.attainment)}")
    figures += (f" · acum. {format_percent(line.cumulative)} "
                f"(esp. {format_percent(line.expected)})")
    text = f"{name}\n{figures}"
    if detail:
        extra = [f"   Estado: {esc(line.status.label)}"]
        if line.missing_periods:
            extra.append(f"   Falta: {esc(', '.join(line.missing_periods))}")
        if line.late:
            extra.append("   ⏰ Fuera de tiempo")
        if line.observaciones:
            extra.append(f"   <i>{esc(_short(line.observaciones, REMARK_WIDTH))}</i>")
        text += "\n" + "\n".join(extra)
    return text


# --- paging ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    text: str
    unit_claves: tuple[str, ...]  # units that appear on this page, in order


def paginate(head: str, blocks: Sequence[tuple[str, str, Sequence[str]]], *,
             limit: int = PAGE_LIMIT, continued_head: str | None = None) -> list[Page]:
    """Pack ``(clave, title, item texts)`` blocks into pages of at most ``limit`` characters.

    A block goes whole onto the current page if it fits, else onto a new page; a block that
    does not fit an empty page is split between items, its title repeated "(continúa)".
    ``head`` opens the first page, ``continued_head`` (default: the first line of ``head``)
    the others.
    """
    continued_head = continued_head if continued_head is not None else head.split("\n")[0]
    pages: list[Page] = []
    text, claves = head, []

    def flush() -> None:
        nonlocal text, claves
        pages.append(Page(text, tuple(claves)))
        text, claves = continued_head, []

    for clave, title, items in blocks:
        block = "\n".join([title, *items])
        if len(text) + 2 + len(block) > limit and claves:
            flush()
        if len(text) + 2 + len(block) <= limit:
            text += "\n\n" + block
            claves.append(clave)
            continue
        # One unit larger than a page: split it between its indicators.
        current_title = title
        text += "\n\n" + current_title
        claves.append(clave)
        for piece in items:  # each item is a few hundred characters at most (names cut)
            if len(text) + 1 + len(piece) > limit:
                flush()
                current_title = f"{title} (continúa)"
                text += "\n\n" + current_title
                claves.append(clave)
            text += "\n" + piece
    if claves or not pages:
        pages.append(Page(text, tuple(claves)))
    return pages


def overview_pages(summary: Summary, *, scope: str | None = None,
                   limit: int = PAGE_LIMIT) -> list[Page]:
    """The summary: header, then every unit with its indicators."""
    head = "\n".join(header_lines(summary, scope))
    if summary.is_empty:
        return [Page(head + "\n\nNo hay indicadores en este periodo.", ())]
    blocks = [(unit.clave, unit_title(unit),
               [indicator_text(line, summary) for line in unit.lines])
              for unit in summary.units]
    title = f"<b>Resumen POA · {esc(summary.period.label)}</b>"
    if scope:
        title += f" · {esc(scope)}"
    return paginate(head, blocks, limit=limit, continued_head=title)


def unit_pages(summary: Summary, clave: str, *, limit: int = PAGE_LIMIT) -> list[Page] | None:
    """One unit's detail (None when the summary has no such unit)."""
    unit = next((u for u in summary.units if u.clave == clave), None)
    if unit is None:
        return None
    people = ", ".join(unit.responsible) or "sin coordinador registrado"
    head = "\n".join([
        f"<b>{esc(unit.clave)} · {esc(unit.nombre)}</b>",
        f"{esc(summary.period.label)} · avance esperado {format_percent(summary.expected)}",
        f"Responsable: {esc(people)}",
        ("✅ Todo reportado" if unit.all_reported else "⏳ Faltan reportes")
        + (" · ⏰ con reportes fuera de tiempo" if unit.late else ""),
    ])
    items = [indicator_text(line, summary, detail=True) for line in unit.lines]
    # Each indicator is its own block so pages break between indicators.
    blocks = [(unit.clave, item, ()) for item in items]
    return paginate(head, blocks, limit=limit,
                    continued_head=f"<b>{esc(unit.clave)} · {esc(unit.nombre)}</b> (continúa)")
