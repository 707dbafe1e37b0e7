"""The first screen of ``/resumen`` (and of the gerente's weekly digest): what needs action.

Pure functions over :class:`bot.services.summary.Summary` (no Telegram, no I/O). The screen
reads, in this order and within :data:`MAX_LINES` lines (a phone screen):

1. the period, the date the data refer to ("Datos al 12/04/2023", never "corte": a corte
   is a service cut to a water utility) and where the deadline stands (not come yet, still
   running, passed);
2. what was due and what came in, counted in **reports** (one indicator for one of its
   periods): "Llegaron 22 de 23 reportes debidos · faltan 1", then how the arrived ones came:
   on time, late, or imported history (which has no timeliness: neither on time nor late);
3. units with reports missing, with the responsible people or "sin responsable"; units whose
   reports arrived late; indicators in red (below the yellow band). Missing and late are
   never one number: a missing report past its deadline is still *missing*;
4. one line per unit with its state counts (🔵 🟢 🟡 🔴 ⚪ ▫️).

Each part shows what fits the line budget, shared out fairly (round robin, in the order
above), and says how many it left out; the rest is one tap away (the detailed overview and
each unit's detail).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.attainment import STATUS_ORDER, Status
from bot.domain.numbers import format_percent
from bot.domain.periods import Period, period_from_code
from bot.services.summary import Summary, UnitSummary

MAX_LINES = 25
NAME_WIDTH = 30
# Where a unit's period stands in the review cycle (POA_APPROVAL_REQUIRED, bot.services.approval).
APPROVAL_LABELS = {"capturando": "✏️ capturando", "enviado": "📨 enviado",
                   "aprobado": "🔒 aprobado", "devuelto": "↩️ devuelto"}


def esc(text: object) -> str:
    """HTML-escape catalog text (summary_pages imports it from here: one definition)."""
    return html.escape(str(text), quote=False)
INDICATOR_WIDTH = 34


@dataclass(frozen=True)
class Headline:
    """Counts in reports (indicator × period) of the summary's due periods."""

    due: int
    received: int  # due reports with a value
    missing: int  # due reports without one
    overdue: int  # missing ones past their deadline
    on_time: int
    late: int  # arrived after the deadline
    imported: int  # imported history: no timeliness


def headline(summary: Summary) -> Headline:
    lines = list(summary.lines)
    due = sum(len(line.due_periods) for line in lines)
    missing = sum(len(line.missing_periods) for line in lines)
    late = sum(len(line.late_periods) for line in lines)
    imported = sum(len(line.imported_periods) for line in lines)
    received = due - missing
    return Headline(due=due, received=received, missing=missing,
                    overdue=sum(len(line.overdue_periods) for line in lines),
                    on_time=max(received - late - imported, 0), late=late, imported=imported)


def _reports(count: int) -> str:
    return f"{count} reporte" if count == 1 else f"{count} reportes"


def due_line(head: Headline) -> str:
    """``llegaron 22 de 23 reportes debidos · faltan 1``."""
    text = f"llegaron {head.received} de {_reports(head.due)} debidos"
    return text + (f" · faltan {head.missing}" if head.missing else "")


def arrival_line(head: Headline) -> str:
    """How the arrived reports came: on time, late, imported (no timeliness)."""
    text = f"A tiempo {head.on_time} · tarde {head.late}"
    if head.imported:
        text += (f" · {head.imported} históricos importados "
                 "(sin registro de puntualidad)")
    return text


# --- the parts of the screen ----------------------------------------------------------------

@dataclass(frozen=True)
class MissingUnit:
    clave: str
    nombre: str
    responsible: tuple[str, ...]
    missing: int  # reports
    due: int
    overdue: bool  # at least one of them past its deadline
    without_evidence: int = 0  # of ``missing``: a value there, its mandatory evidence not


@dataclass(frozen=True)
class LateUnit:
    clave: str
    nombre: str
    late: int  # reports that arrived late


@dataclass(frozen=True)
class RedLine:
    clave: str
    indicador: str
    attainment: object  # Decimal | None


@dataclass(frozen=True)
class Front:
    summary: Summary
    head: Headline
    deadline_note: str
    missing: tuple[MissingUnit, ...]
    late: tuple[LateUnit, ...]
    red: tuple[RedLine, ...]

    @property
    def unattended(self) -> tuple[str, ...]:
        """Claves of units with reports missing and nobody responsible."""
        return tuple(unit.clave for unit in self.missing if not unit.responsible)


def _date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def deadline_note(summary: Summary, deadline_of: Callable[[Period], date]) -> str:
    """Where the deadline stands, without contradiction with the counts below it."""
    today, period = summary.today, summary.period
    due_codes = {code for line in summary.lines for code in line.due_periods}
    running = "" if period.end < today else " · periodo en curso"
    if not due_codes:
        if period.end >= today:
            return (f"{esc(period.label)} aún no termina: nada vence todavía (plazo "
                    f"{_date(deadline_of(period))})")
        return "nada venció en este periodo"
    deadlines = sorted({deadline_of(period_from_code(code)) for code in due_codes})
    coming = [d for d in deadlines if d >= today]
    if coming:
        word = "hoy" if coming[0] == today else f"el {_date(coming[0])}"
        return f"el plazo vence {word}: lo que falta aún está a tiempo{running}"
    return f"el plazo venció el {_date(deadlines[-1])}{running}"


def build_front(summary: Summary, deadline_of: Callable[[Period], date]) -> Front:
    missing, late, red = [], [], []
    for unit in summary.units:
        due = sum(len(line.due_periods) for line in unit.lines)
        absent = sum(len(line.missing_periods) for line in unit.lines)
        if absent:
            missing.append(MissingUnit(
                unit.clave, unit.nombre, tuple(unit.responsible), absent, due,
                any(line.overdue_periods for line in unit.lines),
                sum(len(line.evidence_missing) for line in unit.lines)))
        arrived_late = sum(len(line.late_periods) for line in unit.lines)
        if arrived_late:
            late.append(LateUnit(unit.clave, unit.nombre, arrived_late))
        red.extend(RedLine(unit.clave, line.nombre, line.attainment)
                   for line in unit.lines if line.status is Status.BEHIND)
    red.sort(key=lambda r: (r.attainment is not None, r.attainment or 0))
    return Front(summary, headline(summary), deadline_note(summary, deadline_of),
                 tuple(missing), tuple(late), tuple(red))


# --- rendering --------------------------------------------------------------------------------

def short_text(text: str, width: int) -> str:
    """One line of at most ``width`` characters ending in «…» (summary_pages uses it too)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _missing_item(unit: MissingUnit) -> str:
    who = ", ".join(unit.responsible) if unit.responsible else "sin responsable"
    timing = "" if unit.overdue else " (en plazo)"
    # A green light beside «faltan 3 de 3» reads as a contradiction without this.
    evidence = f", {unit.without_evidence} sin evidencia" if unit.without_evidence else ""
    return (f"• {esc(unit.clave)} {esc(short_text(unit.nombre, NAME_WIDTH))}: faltan "
            f"{unit.missing} de {unit.due}{evidence}{timing} — {esc(short_text(who, 40))}")


def _late_item(unit: LateUnit) -> str:
    return (f"• {esc(unit.clave)} {esc(short_text(unit.nombre, NAME_WIDTH))}: "
            f"{_reports(unit.late)} tarde")


def _red_item(line: RedLine) -> str:
    return (f"• {esc(line.clave)} {esc(short_text(line.indicador, INDICATOR_WIDTH))}: "
            f"{format_percent(line.attainment)}")


def unit_counts_line(unit: UnitSummary) -> str:
    counts = {status: 0 for status in STATUS_ORDER}
    for line in unit.lines:
        counts[line.status] += 1
    marks = " ".join(f"{status.light}{count}" for status, count in counts.items() if count)
    # The review state (only when POA_APPROVAL_REQUIRED): where the unit's period stands.
    state = f" · {APPROVAL_LABELS.get(unit.approval, unit.approval)}" if unit.approval else ""
    return f"{esc(unit.clave)} {esc(short_text(unit.nombre, NAME_WIDTH))}: {marks}{state}"


@dataclass(frozen=True)
class _Part:
    title: str
    items: Sequence[str]
    more: str  # "… y {n} más" template ending


def _share(parts: Sequence[_Part], budget: int) -> list[int]:
    """How many items of each part fit ``budget`` lines: a title per part with items, one
    "… y N más" line when some are left out; items are handed out one per part per round."""
    shown = [0] * len(parts)

    def cost(counts: list[int]) -> int:
        return sum(1 + n + (n < len(p.items)) for p, n in zip(parts, counts, strict=True)
                   if p.items)

    if cost(shown) > budget:
        return shown
    progress = True
    while progress:
        progress = False
        for i, part in enumerate(parts):
            if shown[i] < len(part.items):
                trial = shown.copy()
                trial[i] += 1
                if cost(trial) <= budget:
                    shown = trial
                    progress = True
    return shown


def front_text(front: Front, scope: str | None = None, *,
               max_lines: int = MAX_LINES) -> str:
    """The first screen as HTML, at most ``max_lines`` lines."""
    summary = front.summary
    title = f"<b>Resumen POA · {esc(summary.period.label)}</b>"
    if scope:
        title += f" · {esc(scope)}"
    head = [title, f"Datos al {_date(summary.today)} · {front.deadline_note}"]
    if summary.is_empty:
        return "\n".join([*head, "No hay indicadores en este periodo."])
    if front.head.due:
        head += [f"📋 {due_line(front.head).capitalize()}", arrival_line(front.head)]
    if not front.missing and not front.late and front.head.due:
        head.append("✅ Todas las unidades entregaron lo debido.")
    head.append("")
    n_missing, n_late, n_red = len(front.missing), len(front.late), len(front.red)
    parts = [
        _Part(f"⚪ <b>Sin reportar</b> · {n_missing} "
              f"{'unidad' if n_missing == 1 else 'unidades'}",
              [_missing_item(u) for u in front.missing], "unidades"),
        _Part(f"⏰ <b>Llegaron tarde</b> · {n_late} {'unidad' if n_late == 1 else 'unidades'}",
              [_late_item(u) for u in front.late], "unidades"),
        _Part(f"🔴 <b>En rojo</b> · {n_red} {'indicador' if n_red == 1 else 'indicadores'}",
              [_red_item(r) for r in front.red], "indicadores"),
        _Part("<b>Por unidad</b>", [unit_counts_line(u) for u in summary.units], "unidades"),
    ]
    shown = _share(parts, max_lines - len(head))
    body: list[str] = []
    for part, count in zip(parts, shown, strict=True):
        if not part.items:
            continue
        body.append(part.title)
        body.extend(part.items[:count])
        left = len(part.items) - count
        if left:
            body.append(f"  … y {left} {part.more} más (🔎 Detalle)")
    return "\n".join(head + body)
