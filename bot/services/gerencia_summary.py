"""Planeación's first screen: one line per gerencia (units, reported, late, red).

Pure functions over a :class:`~bot.services.summary.Summary` of every unit and the
gerencias with their units (:func:`bot.services.scope.gerencias`): each gerencia's figures are
its units' part of the summary, with the totals rules of
:func:`~bot.services.summary_pages.restrict_summary`, so the line of a gerencia says what
its own ``/resumen`` says.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.attainment import Status
from bot.domain.numbers import format_percent
from bot.services.scope import GerenciaView
from bot.services.summary import Summary
from bot.services.summary_pages import esc, restrict_summary


@dataclass(frozen=True)
class GerenciaLine:
    gerencia: GerenciaView
    units: int  # units with indicators in the period's POA
    units_due: int  # with something due
    units_reported: int  # with every due indicator reported
    units_late: int  # with a late or overdue indicator
    red: int  # indicators behind (below the yellow band)
    indicators: int


def gerencia_lines(summary: Summary, groups: list[GerenciaView]) -> list[GerenciaLine]:
    lines = []
    for group in groups:
        part = restrict_summary(summary, group.unit_claves)
        lines.append(GerenciaLine(
            gerencia=group, units=len(part.units), units_due=part.completeness.units_due,
            units_reported=part.completeness.units_reported,
            units_late=sum(1 for unit in part.units if unit.late),
            red=part.status_counts.get(Status.BEHIND, 0),
            indicators=sum(len(unit.lines) for unit in part.units)))
    return lines


def gerencia_page_text(summary: Summary, lines: list[GerenciaLine]) -> str:
    """HTML text of the per-gerencia screen (well under Telegram's 4096 characters for a
    few dozen gerencias)."""
    out = [f"<b>Resumen por gerencia · {esc(summary.period.label)}</b>",
           f"Avance esperado del año: {format_percent(summary.expected)}", ""]
    for line in lines:
        if not line.units:
            detail = "sin indicadores en este POA"
        else:
            detail = (f"{line.units} unidad{'es' if line.units != 1 else ''} · "
                      f"{line.units_reported} de {line.units_due} reportaron · "
                      f"{line.units_late} fuera de tiempo · 🔴 {line.red} "
                      f"indicador{'es' if line.red != 1 else ''} debajo de la meta")
        out.append(f"🏢 <b>{esc(line.gerencia.nombre)}</b>: {detail}")
    out += ["", "Toca una gerencia para ver sus unidades."]
    return "\n".join(out)
