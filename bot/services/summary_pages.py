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

One file past 400 lines on purpose: the overview and the detail share the line renderers
and the page packer; apart, each would need the other's internals to split at the same
unit bounds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.attainment import STATUS_ORDER, Status
from bot.domain.numbers import MAX_DECIMALS, format_number, format_percent, round_display
from bot.services.summary import (
    Completeness,
    IndicatorLine,
    Summary,
    UnitSummary,
    timeliness_of,
)
from bot.services.summary_front import (
    APPROVAL_LABELS,
    arrival_line,
    due_line,
    esc,
    headline,
    short_text,
)

PAGE_LIMIT = 3900  # below Telegram's 4096, leaving room for the page header
NAME_WIDTH = 70
DETAIL_NAME_WIDTH = 300
REMARK_WIDTH = 160


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
        timeliness=timeliness_of(due),
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


class Figures:
    """``format_number`` / ``format_percent`` remembered for one rendering.

    A state-wide summary formats 50,000 figures through Babel, many of them equal (the
    expected % of every line, the metas); each distinct one is formatted once. A
    percentage shows two decimals, so it is remembered by its displayed value. Equal
    Decimals format alike; the sign is part of the key only because ``-0`` equals ``0``.
    """

    __slots__ = ("_numbers", "_percents")

    def __init__(self) -> None:
        self._numbers: dict[tuple[bool, Decimal], str] = {}
        self._percents: dict[tuple[bool, Decimal], str] = {}

    def number(self, value: Decimal) -> str:
        key = (value.is_signed(), value)
        text = self._numbers.get(key)
        if text is None:
            text = self._numbers[key] = format_number(value)
        return text

    def percent(self, value: Decimal | None) -> str:
        if value is None:
            return format_percent(None)
        shown = round_display(value)
        key = (shown.is_signed(), shown)
        text = self._percents.get(key)
        if text is None:
            text = self._percents[key] = format_percent(shown)
        return text

    def figure(self, value: Decimal | None, unidad_medida: str) -> str:
        if value is None:
            return "—"
        text = self.number(value)
        return f"{text}%" if unidad_medida.strip() == "%" else text


def figure_width(value: Decimal, decimals: int | None = None) -> int:
    """``len(format_number(value, decimals))`` without formatting.

    es-MX prints an optional ``-``, the integer digits grouped by three with ``,``, then
    ``.`` and the decimals; the decimals and the rounding follow ``format_number``
    (tests check the two agree).
    """
    if decimals is None:
        decimals = 0 if value == value.to_integral_value() else min(
            MAX_DECIMALS, max(0, -value.normalize().as_tuple().exponent))
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    digits = len(str(int(abs(rounded))))
    width = digits + (digits - 1) // 3 + (decimals + 1 if decimals else 0)
    return width + 1 if rounded.is_signed() else width


class FigureWidths(Figures):
    """Figures as placeholders of their printed length: for measuring a text, not showing it."""

    __slots__ = ()

    def number(self, value: Decimal) -> str:
        return "#" * figure_width(value)

    def percent(self, value: Decimal | None) -> str:
        return format_percent(None) if value is None else "#" * (figure_width(value, 2) + 1)


def _period_note(line: IndicatorLine, summary: Summary) -> str:
    return "" if line.period == summary.period.code else f" ({esc(line.period)})"


def header_lines(summary: Summary, scope: str | None = None) -> list[str]:
    """Title, what was due and what came in (the words of the first screen,
    :mod:`bot.services.summary_front`) and the band counts."""

    done = summary.completeness
    title = f"<b>Resumen POA · {esc(summary.period.label)}</b>"
    if scope:
        title += f" · {esc(scope)}"
    lines = [title,
             f"Datos al {summary.today.strftime('%d/%m/%Y')} · avance esperado "
             f"{format_percent(summary.expected)}"]
    if done.units_due:
        head = headline(summary)
        lines.append(f"📋 {done.units_reported} de {done.units_due} coordinaciones con todo "
                     f"reportado · {due_line(head)}")
        lines.append(arrival_line(head))
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
    late = " · ⏰ llegó tarde" if any(line.late_periods for line in unit.lines) else ""
    state = f" · {APPROVAL_LABELS.get(unit.approval, unit.approval)}" if unit.approval else ""
    return (f"<b>{esc(unit.clave)} · {esc(short_text(unit.nombre, NAME_WIDTH))}</b> "
            f"{mark}{late}{state}")


def indicator_text(line: IndicatorLine, summary: Summary, *, detail: bool = False,
                   figures: Figures | None = None) -> str:
    """Two lines: mark and name; value vs meta, attainment, cumulative vs expected.

    ``figures``: share one :class:`Figures` across the lines of a rendering.
    """
    fmt = figures or Figures()
    width = DETAIL_NAME_WIDTH if detail else NAME_WIDTH
    name = (f"{line.status.light} {esc(short_text(line.nombre, width))}"
            f"{_period_note(line, summary)}")
    meta = fmt.figure(line.meta, line.unidad_medida)
    if line.value is None:
        numbers = f"   {line.status.label.lower()} · meta {meta}"
    else:
        numbers = (f"   {fmt.figure(line.value, line.unidad_medida)} de {meta} · "
                   f"{fmt.percent(line.attainment)}")
    numbers += (f" · acum. {fmt.percent(line.cumulative)} "
                f"(esp. {fmt.percent(line.expected)})")
    text = f"{name}\n{numbers}"
    if detail:
        extra = [f"   Estado: {esc(line.status.label)}"]
        if line.missing_periods:
            extra.append(f"   Falta: {esc(', '.join(line.missing_periods))}")
        if line.evidence_missing:  # bot/services/evidence.py
            extra.append(f"   📎 Sin la evidencia obligatoria: "
                         f"{esc(', '.join(line.evidence_missing))}")
        if line.late_periods:
            extra.append(f"   ⏰ Llegó tarde: {esc(', '.join(line.late_periods))}")
        if line.overdue_periods:
            extra.append(f"   Plazo vencido sin reporte: {esc(', '.join(line.overdue_periods))}")
        if line.imported_periods:
            extra.append("   Histórico importado: sin registro de puntualidad")
        if line.observaciones:
            extra.append(f"   <i>{esc(short_text(line.observaciones, REMARK_WIDTH))}</i>")
        text += "\n" + "\n".join(extra)
    return text


# --- paging ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    text: str
    unit_claves: tuple[str, ...]  # units that appear on this page, in order


CONTINUED = " (continúa)"


def paginate(head: str, blocks: Sequence[tuple[str, str, Sequence[str]]], *,
             limit: int = PAGE_LIMIT, continued_head: str | None = None) -> list[Page]:
    """Pack ``(clave, title, item texts)`` blocks into pages of at most ``limit`` characters.

    A block goes whole onto the current page if it fits, else onto a new page; a block that
    does not fit an empty page is split between items, its title repeated "(continúa)".
    ``head`` opens the first page, ``continued_head`` (default: the first line of ``head``)
    the others.
    """
    continued_head = continued_head if continued_head is not None else head.split("\n")[0]
    plan = _plan_pages(len(head), len(continued_head),
                       [(len(title), [len(item) for item in items]) for _, title, items in blocks],
                       limit)
    return [_assemble(head if number == 0 else continued_head, segments,
                      lambda b: (blocks[b][0], blocks[b][1]),
                      lambda b, start, end: blocks[b][2][start:end])
            for number, segments in enumerate(plan)]


@dataclass(frozen=True, slots=True)
class _Segment:
    """The part of one block on one page."""

    block: int
    start: int  # first item of the block on the page
    end: int  # past its last item on the page
    continued: bool  # the block began on an earlier page: title marked "(continúa)"


def _plan_pages(head_len: int, continued_len: int,
                blocks: Sequence[tuple[int, Sequence[int]]], limit: int) -> list[list[_Segment]]:
    """:func:`paginate`'s packing, over lengths only: ``(title length, item lengths)``.

    Deciding the pages needs no text, so a long summary can be planned whole and only
    the page shown be written.
    """
    pages: list[list[_Segment]] = []
    size, segments = head_len, []
    for index, (title_len, item_lens) in enumerate(blocks):
        block_len = title_len + sum(item_lens) + len(item_lens)  # "\n".join([title, *items])
        if size + 2 + block_len > limit and segments:
            pages.append(segments)
            size, segments = continued_len, []
        if size + 2 + block_len <= limit:
            size += 2 + block_len
            segments.append(_Segment(index, 0, len(item_lens), False))
            continue
        # One unit larger than a page: split it between its indicators.
        size += 2 + title_len
        start, continued = 0, False
        for position, item_len in enumerate(item_lens):
            if size + 1 + item_len > limit:
                segments.append(_Segment(index, start, position, continued))
                pages.append(segments)
                segments, start, continued = [], position, True
                size = continued_len + 2 + title_len + len(CONTINUED)
            size += 1 + item_len
        segments.append(_Segment(index, start, len(item_lens), continued))
    if segments or not pages:
        pages.append(segments)
    return pages


def _assemble(head: str, segments: Sequence[_Segment], block_of, items_of) -> Page:
    """A page's text from its plan: ``block_of(b)`` → (clave, title), ``items_of(b, i, j)``."""
    parts, claves = [head], []
    for segment in segments:
        clave, title = block_of(segment.block)
        parts.append("\n\n" + title + (CONTINUED if segment.continued else ""))
        parts.extend("\n" + item for item in items_of(segment.block, segment.start, segment.end))
        claves.append(clave)
    return Page("".join(parts), tuple(claves))


class Overview(Sequence[Page]):
    """The overview's pages (header, then every unit with its indicators), each written
    only when asked for.

    A state-wide catalog fills hundreds of pages and the chat shows one. The pages are
    planned over each indicator's text measured with :class:`FigureWidths` (the text with
    every figure replaced by as many characters as it would print, no Babel formatting),
    so the plan is the one the full texts give, and only the page asked for is formatted.
    """

    def __init__(self, summary: Summary, *, scope: str | None = None,
                 limit: int = PAGE_LIMIT) -> None:
        self._summary = summary
        self._head = "\n".join(header_lines(summary, scope))
        self._continued = _continued_head(summary, scope)
        self._figures = Figures()
        self._pages: dict[int, Page] = {}
        if summary.is_empty:
            self._pages[0] = Page(self._head + "\n\nNo hay indicadores en este periodo.", ())
            self._plan: list[list[_Segment]] = [[]]
            return
        self._titles = [unit_title(unit) for unit in summary.units]
        widths = FigureWidths()
        self._plan = _plan_pages(
            len(self._head), len(self._continued),
            [(len(title), [len(indicator_text(line, summary, figures=widths))
                           for line in unit.lines])
             for title, unit in zip(self._titles, summary.units, strict=True)],
            limit)

    def __len__(self) -> int:
        return len(self._plan)

    def __getitem__(self, number):
        if isinstance(number, slice):
            return [self[n] for n in range(*number.indices(len(self)))]
        if number < 0:
            number += len(self)
        if not 0 <= number < len(self):
            raise IndexError(number)
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = self._write(number)
        return page

    def _write(self, number: int) -> Page:
        units = self._summary.units
        return _assemble(
            self._head if number == 0 else self._continued, self._plan[number],
            lambda b: (units[b].clave, self._titles[b]),
            lambda b, start, end: [indicator_text(line, self._summary, figures=self._figures)
                                   for line in units[b].lines[start:end]])


def overview_pages(summary: Summary, *, scope: str | None = None,
                   limit: int = PAGE_LIMIT) -> list[Page]:
    """Every page of the overview, written in full (:class:`Overview` plans the same pages
    and writes only the ones asked for)."""
    head = "\n".join(header_lines(summary, scope))
    if summary.is_empty:
        return [Page(head + "\n\nNo hay indicadores en este periodo.", ())]
    figures = Figures()
    blocks = [(unit.clave, unit_title(unit),
               [indicator_text(line, summary, figures=figures) for line in unit.lines])
              for unit in summary.units]
    return paginate(head, blocks, limit=limit, continued_head=_continued_head(summary, scope))


def _continued_head(summary: Summary, scope: str | None) -> str:
    title = f"<b>Resumen POA · {esc(summary.period.label)}</b>"
    return f"{title} · {esc(scope)}" if scope else title


def unit_pages(summary: Summary, clave: str, *, limit: int = PAGE_LIMIT) -> list[Page] | None:
    """One unit's detail (None when the summary has no such unit)."""
    unit = next((u for u in summary.units if u.clave == clave), None)
    if unit is None:
        return None
    people = ", ".join(unit.responsible) or "sin responsable"
    head = "\n".join([
        f"<b>{esc(unit.clave)} · {esc(unit.nombre)}</b>",
        f"{esc(summary.period.label)} · avance esperado {format_percent(summary.expected)}",
        f"Responsable: {esc(people)}",
        ("✅ Todo reportado" if unit.all_reported else "⏳ Faltan reportes")
        + (" · ⏰ con reportes que llegaron tarde"
           if any(line.late_periods for line in unit.lines) else "")
        + (f" · revisión: {APPROVAL_LABELS.get(unit.approval, unit.approval)}"
           if unit.approval else ""),
    ])
    figures = Figures()
    items = [indicator_text(line, summary, detail=True, figures=figures) for line in unit.lines]
    # Each indicator is its own block so pages break between indicators.
    blocks = [(unit.clave, item, ()) for item in items]
    return paginate(head, blocks, limit=limit,
                    continued_head=f"<b>{esc(unit.clave)} · {esc(unit.nombre)}</b> (continúa)")
