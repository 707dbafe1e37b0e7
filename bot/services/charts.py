"""The ``/grafica`` charts: the units' progress, one unit's indicators, one indicator's year.

* :func:`render_progress_charts` (``/grafica``): each unit's cumulative progress against
  the expected line (below).
* :func:`render_unit_charts` (``/grafica 303``): one bar per indicator of the unit, its
  attainment of the period's meta, coloured by the summary's traffic light; a due period
  not reported is a grey hatched bar reading "sin reportar" (never a 0 % bar), one not yet
  due reads "aún no vence".
* :func:`render_indicator_trend` (the indicator's button under the unit chart): the
  indicator's periods of the year as bars coloured by their light, the programmed meta as a
  dashed step line and last year's values as a second line; a due period not reported is
  a grey hatched column.

Every chart's legend names each colour and pattern.

One horizontal bar per unit: the mean of its indicators' cumulative progress (% of the
annual target reached so far, from :func:`bot.services.summary.build_summary`), with a
dashed vertical line at the expected progress (25 % at the end of March). Bars are coloured
by how the unit stands against its own expected progress, with the summary's traffic-light
bands (blue above it, green on it, yellow close, red behind): the mean of its lines'
expected progress, which is the summary-wide one unless a line is judged by a ficha with
calendarised metas (a seasonal indicator expects 50 % by March if half its year's meta is
programmed by then). A unit whose expected progress differs from the dashed line gets a
black tick on its bar at its own. Drawn headless with Matplotlib's object API
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
NOT_REPORTED_HATCH = "///"
NOT_REPORTED_FACE = "#ececec"
NOT_REPORTED_EDGE = "#8c8c8c"
NOT_REPORTED_LABEL = "sin reportar (no es 0 %)"
META_COLOR = "#222222"
LAST_YEAR_COLOR = "#7b4fa0"
ATTAINMENT_CAP = Decimal(250)  # bars beyond it are drawn to it; their label says the figure
STATUS_LABELS = ((Status.ABOVE, "arriba de la meta"), (Status.ON_TARGET, "en meta"),
                 (Status.CLOSE, "cerca de la meta"), (Status.BEHIND, "por debajo"))

HUNDRED = Decimal(100)
_DROP_WORDS = ("COORDINACIÓN DE ", "COORDINACION DE ", "COORDINACIÓN ", "COORDINACION ")


@dataclass(frozen=True)
class UnitProgress:
    clave: str
    nombre: str
    cumulative: Decimal | None  # mean of the indicators' cumulative %, None: nothing to show
    indicators: int  # indicators counted in the mean
    status: Status | None  # against the unit's expected progress; None without data
    expected: Decimal | None = None  # mean expected progress of the same lines


def unit_progress(summary: Summary) -> list[UnitProgress]:
    """Per unit, the mean cumulative progress of its indicators, the mean of their own
    expected progress (each line's, by its ficha) and the band of the one against the other."""
    result = []
    for unit in summary.units:
        counted = [line for line in unit.lines if line.cumulative is not None]
        mean = expected = status = None
        if counted:
            mean = sum((line.cumulative for line in counted), Decimal(0)) / len(counted)
            expected = sum((line.expected for line in counted), Decimal(0)) / len(counted)
            relative = mean * HUNDRED / expected if expected else None
            status = status_for(relative, summary.bands)
        result.append(UnitProgress(unit.clave, unit.nombre, mean, len(counted), status,
                                   expected))
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
    return _png(progress_figure(summary))


def progress_figure(summary: Summary):
    """The Figure of :func:`render_progress_chart` (tests read its artists)."""
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
    own = [(y, float(item.expected)) for y, item in zip(positions, progress, strict=True)
           if item.expected is not None and item.expected != summary.expected]
    for y, where in own:  # a unit judged by calendarised fichas: its own expected progress
        axes.plot([where, where], [y - 0.38, y + 0.38], color="#111111", linewidth=2.4,
                  zorder=4, gid=f"expected-{y}")
    if own:
        top = max(top, max(where for _y, where in own) * 1.22)
        axes.set_xlim(0, top)
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
    if own:
        from matplotlib.lines import Line2D

        legend.append(Line2D([], [], color="#111111", linewidth=2.4, marker="|",
                             linestyle="none", markersize=12,
                             label="esperado de la unidad (metas calendarizadas)"))
    figure.legend(handles=legend, loc="lower center", ncols=2, fontsize=10, frameon=False)
    height = figure.get_figheight()
    figure.subplots_adjust(left=0.36, right=0.95, top=1 - 0.55 / height, bottom=1.45 / height)
    return figure


# --- one unit's indicators (/grafica 303) -----------------------------------------------------

def indicator_label(number: int, nombre: str) -> str:
    return "\n".join(textwrap.wrap(f"{number}. {nombre.strip()}", NAME_WIDTH + 6,
                                    max_lines=2, placeholder="…"))


def render_unit_charts(summary: Summary, per_image: int = UNITS_PER_IMAGE) -> list[bytes]:
    """The indicators of the summary's only unit, ``per_image`` bars an image."""
    unit = summary.units[0]
    lines = unit.lines
    starts = range(0, max(len(lines), 1), per_image)
    return [render_unit_chart(summary, start, start + per_image) for start in starts]


def render_unit_chart(summary: Summary, first: int = 0, stop: int | None = None) -> bytes:
    figure = unit_figure(summary, first, stop)
    return _png(figure)


def unit_figure(summary: Summary, first: int = 0, stop: int | None = None):
    """The Figure of :func:`render_unit_chart` (tests read its artists)."""
    from matplotlib.patches import Patch

    unit = summary.units[0]
    lines = unit.lines[first:stop]
    figure, axes = _figure(max(len(lines), 1))
    cap = float(ATTAINMENT_CAP)
    widths = [float(min(line.attainment, ATTAINMENT_CAP)) if line.attainment is not None
              else 100.0 for line in lines if line.value is not None]
    top = max([100.0, *widths]) * 1.25
    for y, line in enumerate(lines):
        if line.value is not None:
            width = (float(min(line.attainment, ATTAINMENT_CAP))
                     if line.attainment is not None else 100.0)
            color = COLORS.get(line.status, NO_DATA_COLOR)
            axes.barh(y, width, color=color, height=0.62, zorder=2, gid=f"line-{y}")
            text = (format_percent(line.attainment) if line.attainment is not None
                    else "meta 0")
            if line.attainment is not None and line.attainment > ATTAINMENT_CAP:
                text += " ▸"
            axes.text(min(width, cap) + top * 0.01, y, text, va="center", fontsize=11,
                      zorder=4)
        elif line.status is Status.MISSING:
            axes.barh(y, top, facecolor=NOT_REPORTED_FACE, edgecolor=NOT_REPORTED_EDGE,
                      hatch=NOT_REPORTED_HATCH, linewidth=0.8, height=0.62, zorder=1,
                      gid=f"line-{y}")
            axes.text(top * 0.02, y, "sin reportar", va="center", fontsize=11, zorder=4,
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
        else:  # not due yet, nothing reported
            axes.text(top * 0.01, y, "aún no vence", va="center", fontsize=11,
                      color="#666666", zorder=4)
    positions = list(range(len(lines)))
    axes.set_yticks(positions, [indicator_label(first + i + 1, line.nombre)
                                for i, line in enumerate(lines)], fontsize=10)
    axes.set_xlim(0, top)
    axes.axvline(100, color=META_COLOR, linestyle="--", linewidth=1.4, zorder=3)
    axes.text(100, -0.8, "meta", ha="center", va="bottom", fontsize=11, color=META_COLOR,
              zorder=5, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
    axes.set_xlabel(f"% de la meta de {summary.period.label}", fontsize=11)
    axes.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0f}%")
    axes.set_ylim(len(lines) - 0.4, -1.2)
    part = ""
    if first or (stop is not None and stop < len(unit.lines)):
        part = f" ({first + 1}–{first + len(lines)})"
    figure.suptitle(f"{short_name(unit.clave, unit.nombre).replace(chr(10), ' ')}{part}",
                    fontsize=14, fontweight="bold")
    legend = [Patch(color=COLORS[status], label=text) for status, text in STATUS_LABELS]
    legend.append(Patch(facecolor=NOT_REPORTED_FACE, edgecolor=NOT_REPORTED_EDGE,
                        hatch=NOT_REPORTED_HATCH, label=NOT_REPORTED_LABEL))
    figure.legend(handles=legend, loc="lower center", ncols=2, fontsize=10, frameon=False)
    _fit(figure, left=0.40)
    return figure


# --- one indicator's year (button under the unit chart) ---------------------------------------

def period_tick(period) -> str:
    """``ene``, ``T1``, ``S2``, ``2023``: short enough for twelve under one chart."""
    if period.kind == "M":
        return period.short_label.split("-")[0]
    if period.kind in ("Q", "S"):
        return f"{'T' if period.kind == 'Q' else 'S'}{period.index}"
    return str(period.year)


def render_indicator_trend(trend) -> bytes:
    return _png(trend_figure(trend))


def trend_figure(trend):
    """The Figure of :func:`render_indicator_trend` (``trend``: a
    :class:`bot.services.trend.IndicatorTrend`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    points = trend.points
    figure = Figure(figsize=(WIDTH_PX / DPI, 7.2), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    xs = list(range(len(points)))
    figures = [float(v) for p in points for v in (p.value, p.meta, p.last_year)
               if v is not None]
    top = max([*figures, 1.0]) * 1.18
    shown: list[Status] = []
    for x, point in zip(xs, points, strict=True):
        if point.value is not None:
            axes.bar(x, float(point.value), width=0.62, color=COLORS.get(point.status,
                     NO_DATA_COLOR), zorder=2, gid=f"value-{x}")
            shown.append(point.status)
        elif point.status is Status.MISSING:
            axes.bar(x, top, width=0.62, facecolor=NOT_REPORTED_FACE,
                     edgecolor=NOT_REPORTED_EDGE, hatch=NOT_REPORTED_HATCH, linewidth=0.8,
                     zorder=1, gid=f"missing-{x}")
            axes.text(x, top * 0.5, "sin reportar", rotation=90, ha="center", va="center",
                      fontsize=10, color="#444444", zorder=4,
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
    axes.step(xs, [float(p.meta) for p in points], where="mid", color=META_COLOR,
              linestyle="--", linewidth=1.6, zorder=3, label="meta programada")
    previous = [(x, float(p.last_year)) for x, p in zip(xs, points, strict=True)
                if p.last_year is not None]
    last_label = f"{trend.year - 1}"
    if previous:
        axes.plot([x for x, _ in previous], [v for _, v in previous], color=LAST_YEAR_COLOR,
                  marker="o", linewidth=1.8, zorder=4, label=last_label)
    axes.set_xticks(xs, [period_tick(p.period) for p in points], fontsize=11)
    axes.set_xlim(-0.6, len(points) - 0.4)
    axes.set_ylim(0, top)
    percent = trend.is_percent
    axes.yaxis.set_major_formatter(
        lambda y, _pos: f"{y:.0f}%" if percent else format_number(Decimal(round(y))))
    axes.set_ylabel(trend.unidad_medida.strip() or "valor", fontsize=11)
    axes.grid(axis="y", color="#dddddd", zorder=0)
    axes.spines[["top", "right"]].set_visible(False)
    title = "\n".join(textwrap.wrap(trend.nombre.strip(), 60, max_lines=2, placeholder="…"))
    figure.suptitle(f"{trend.unit_clave} · {title}", fontsize=13, fontweight="bold")
    note = "" if previous else (f" · sin datos de {trend.year - 1}")
    axes.set_title(f"{trend.year} por periodo, contra la meta programada{note}", fontsize=11)
    legend = [Patch(color=COLORS[status], label=text) for status, text in STATUS_LABELS]
    legend.append(Patch(facecolor=NOT_REPORTED_FACE, edgecolor=NOT_REPORTED_EDGE,
                        hatch=NOT_REPORTED_HATCH, label=NOT_REPORTED_LABEL))
    legend.append(Line2D([], [], color=META_COLOR, linestyle="--", label="meta programada"))
    if previous:
        legend.append(Line2D([], [], color=LAST_YEAR_COLOR, marker="o",
                             label=f"año anterior ({last_label})"))
    figure.legend(handles=legend, loc="lower center", ncols=3, fontsize=9, frameon=False)
    figure.subplots_adjust(left=0.14, right=0.97, top=0.84, bottom=0.25)
    return figure


# --- shared ----------------------------------------------------------------------------------

def _figure(rows: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, FRAME_INCHES + BAR_INCHES * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.tick_params(axis="x", labelsize=10)
    axes.grid(axis="x", color="#dddddd", zorder=0)
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _fit(figure, left: float) -> None:
    height = figure.get_figheight()
    figure.subplots_adjust(left=left, right=0.95, top=1 - 0.55 / height,
                           bottom=1.75 / height)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
