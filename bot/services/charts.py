"""The ``/grafica`` chart: each unit's cumulative progress against the expected line.

One horizontal bar per unit: the mean of its indicators' cumulative progress (% of the
annual target reached so far, from :func:`bot.services.summary.build_summary`), with a
dashed vertical line at the expected progress (25 % at the end of March). Bars are coloured
by how the unit stands against that line, with the summary's traffic-light bands (blue above
it, green on it, yellow close, red behind). Drawn headless with Matplotlib's object API
(no pyplot: no global state, safe in the bot's worker threads), 1080 px wide so it reads on
a phone without zooming.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.domain.attainment import Status, status_for
from bot.domain.numbers import format_number, format_percent
from bot.services.summary import Summary

WIDTH_PX = 1080
DPI = 150
BAR_INCHES = 0.72
FRAME_INCHES = 2.4
UNITS_PER_IMAGE = 30  # 30 bars: 1080 × ~3600 px, inside Telegram's photo limits
NAME_WIDTH = 20  # characters per label line
COLORS = {
    Status.ABOVE: "#2f6fbf", Status.ON_TARGET: "#2e9d4a", Status.CLOSE: "#e0b000",
    Status.BEHIND: "#cc3b33",
}
NO_DATA_COLOR = "#b0b0b0"

HUNDRED = Decimal(100)
_DROP_WORDS = ("COORDINACIÓN DE ", "COORDINACION DE ", "COORDINACIÓN ", "COORDINACION ")


@dataclass(frozen=True)
class UnitProgress:
    clave: str
    nombre: str
    cumulative: Decimal | None  # mean of the indicators' cumulative %, None: nothing to show
    indicators: int  # indicators counted in the mean
    status: Status | None  # against the expected line; None without data


def unit_progress(summary: Summary) -> list[UnitProgress]:
    """Per unit, the mean cumulative progress of its indicators and its band."""
    result = []
    for unit in summary.units:
        figures = [line.cumulative for line in unit.lines if line.cumulative is not None]
        mean = sum(figures, Decimal(0)) / len(figures) if figures else None
        status = None
        if mean is not None:
            relative = mean * HUNDRED / summary.expected if summary.expected else None
            status = status_for(relative, summary.bands)
        result.append(UnitProgress(unit.clave, unit.nombre, mean, len(figures), status))
    return result


def legend_labels(yellow: Decimal) -> tuple[tuple[Status, str], ...]:
    """Bands read against the expected line, not against one period's meta."""
    return ((Status.ABOVE, "arriba de lo esperado"), (Status.ON_TARGET, "en lo esperado"),
            (Status.CLOSE, f"cerca (≥ {format_number(yellow)} %)"),
            (Status.BEHIND, "por debajo"))


def short_name(clave: str, nombre: str) -> str:
    """``303 · FACTURACION`` wrapped for the axis (the "COORDINACIÓN DE" adds nothing)."""
    name = nombre.strip()
    for word in _DROP_WORDS:
        if name.upper().startswith(word):
            name = name[len(word):]
            break
    return "\n".join(textwrap.wrap(f"{clave} · {name}", NAME_WIDTH, max_lines=2,
                                   placeholder="…"))


def render_progress_charts(summary: Summary, per_image: int = UNITS_PER_IMAGE) -> list[bytes]:
    """One chart, or several of ``per_image`` units each for a large catalog: Telegram
    refuses photos whose width + height exceed 10,000 px, and tiny bars help nobody."""
    units = summary.units or []
    if len(units) <= per_image:
        return [render_progress_chart(summary)]
    return [render_progress_chart(replace(summary, units=units[start:start + per_image]))
            for start in range(0, len(units), per_image)]


def render_progress_chart(summary: Summary) -> bytes:
    """PNG bytes of the chart for ``summary`` (1080 px wide)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    progress = unit_progress(summary)
    rows = max(len(progress), 1)
    figure = Figure(figsize=(WIDTH_PX / DPI, FRAME_INCHES + BAR_INCHES * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    labels = [short_name(p.clave, p.nombre) for p in progress]
    values = [float(p.cumulative) if p.cumulative is not None else 0.0 for p in progress]
    colors = [COLORS[p.status] if p.status else NO_DATA_COLOR for p in progress]
    positions = list(range(len(progress)))
    axes.barh(positions, values, color=colors, height=0.62, zorder=2)
    axes.set_yticks(positions, labels, fontsize=11)
    axes.invert_yaxis()  # first unit on top, like the summary

    expected = float(summary.expected)
    top = max([expected, *values]) * 1.22 or 10.0
    axes.set_xlim(0, top)
    axes.axvline(expected, color="#333333", linestyle="--", linewidth=1.4, zorder=3)
    axes.text(expected, -0.8, f"esperado {format_percent(summary.expected)}",
              ha="center", va="bottom", fontsize=11, color="#333333", zorder=5,
              bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
    for y, item in zip(positions, progress, strict=True):
        text = format_percent(item.cumulative) if item.cumulative is not None else "sin datos"
        axes.text((values[y] or 0) + top * 0.01, y, text, va="center", fontsize=11, zorder=4)

    axes.set_xlabel("% de la meta anual alcanzado", fontsize=11)
    axes.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0f}%")
    axes.tick_params(axis="x", labelsize=10)
    axes.grid(axis="x", color="#dddddd", zorder=0)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(len(progress) - 0.4, -1.2)
    figure.suptitle(f"Avance acumulado · {summary.period.label}", fontsize=14,
                    fontweight="bold")
    legend = [Patch(color=COLORS[status], label=text)
              for status, text in legend_labels(summary.bands.yellow)]
    figure.legend(handles=legend, loc="lower center", ncols=2, fontsize=10, frameon=False)
    height = figure.get_figheight()
    figure.subplots_adjust(left=0.36, right=0.95, top=1 - 0.55 / height, bottom=1.45 / height)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
