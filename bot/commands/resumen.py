"""``poa-bot resumen --period P [--unit CLAVE] [--format table|csv|json]``.

Prints :func:`bot.services.summary.build_summary` for a period (``2023-03``, ``mar-23``,
``2023-Q1``, ``2023-S1``, ``2023``). ``table`` is for people (Spanish, es-MX numbers);
``csv`` and ``json`` are stable machine formats:

**CSV** (UTF-8, comma-separated, one header row, one row per indicator, units by clave and
indicators in report order). Columns, in this order::

    periodo                   asked period code (2023-03, 2023-Q1, 2023-S1, 2023)
    unidad_clave              unit clave (303)
    unidad_nombre             unit name
    accion                    acción operativa
    indicador                 indicator name
    unidad_medida             unit of measure (% for percentage indicators)
    frecuencia                MENSUAL | TRIMESTRAL | SEMESTRAL | ANUAL
    periodo_indicador         the period the line covers (2023-Q1 for a quarterly one in March)
    meta                      meta over that period, exact (dot decimals, no grouping)
    valor                     value over that period, exact; empty when not reported
    cumplimiento_periodo_pct  valor ÷ meta × 100, 2 decimals; empty without value or meta 0
    avance_acumulado_pct      % of the annual target so far, 2 decimals; empty if undefined
    avance_esperado_pct       % of the year elapsed at the period's end, 2 decimals
    estado                    above | on_target | close | behind | missing | not_due
    reportado                 si | no  (si: has a value and no due period is missing)
    fuera_de_tiempo           si | no  (a late value, or unreported past the deadline)
    observaciones             remarks of the latest reported period
    indicador_id              database id of the indicator
    periodos_sin_reportar     due periods without a value, separated by spaces

Percentages are in points rounded half-up to 2 decimals (``25.00``); the engine keeps full
precision and rounds only here.

**JSON** (one object; decimals as strings so nothing is lost to floats; ``null`` when
missing)::

    {"periodo", "periodo_etiqueta", "fecha_corte" (ISO date the due/late figures refer to),
     "avance_esperado_pct", "bandas": {"verde", "amarillo"},
     "completitud": {"unidades_reportadas", "unidades_debidas", "unidades_pct",
                     "indicadores_reportados", "indicadores_debidos", "indicadores_pct"},
     "puntualidad": {"a_tiempo" (imported lines excluded), "debidos", "fuera_de_tiempo",
                     "importados" (complete lines with imported history: no timeliness),
                     "pct"},
     "reportes": {"debidos", "llegaron", "faltan", "faltan_vencidos", "a_tiempo", "tarde",
                  "importados"}  (counts of indicator × period, as /resumen's first screen),
     "estados": {"above": n, "on_target": n, "close": n, "behind": n, "missing": n,
                 "not_due": n},
     "unidades": [{"clave", "nombre", "responsables": [..], "todo_reportado": bool,
     "aprobacion": "capturando"|"enviado"|"aprobado"|"devuelto"|null,
                   "fuera_de_tiempo": bool,
                   "indicadores": [{"indicador_id", "accion", "indicador", "unidad_medida",
                       "frecuencia", "agregacion" (sum|last), "periodo_indicador", "meta",
                       "valor", "cumplimiento_periodo_pct", "avance_acumulado_pct",
                       "avance_esperado_pct", "estado", "reportado": bool,
                       "fuera_de_tiempo": bool, "observaciones",
                       "periodos_sin_reportar": [..], "periodos_tarde": [..],
                       "periodos_importados": [..],
                       "periodos_vencidos_sin_reportar": [..]}]}],
     "sin_reportar": [{"unidad_clave", "unidad_nombre", "indicador_id", "indicador",
                       "periodos": [..], "responsables": [..], "vencido": bool}]}

Exit codes: 0 printed; 1 no catalog for that year (import the report first); 2 bad period
or unknown unit (Spanish message on stderr listing the accepted forms).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from decimal import Decimal

from sqlmodel import select

from bot.domain.attainment import STATUS_ORDER, Bands, Status
from bot.domain.numbers import format_number, format_percent, round_display
from bot.domain.periods import PeriodError, parse_period
from bot.services.summary import IndicatorLine, Summary, build_summary
from storage.models import Unit

CSV_COLUMNS = (
    "periodo", "unidad_clave", "unidad_nombre", "accion", "indicador", "unidad_medida",
    "frecuencia", "periodo_indicador", "meta", "valor", "cumplimiento_periodo_pct",
    "avance_acumulado_pct", "avance_esperado_pct", "estado", "reportado", "fuera_de_tiempo",
    "observaciones", "indicador_id", "periodos_sin_reportar",
)
PERIOD_HELP = ("Formas aceptadas: 2023-03 o mar-23 (mes), 2023-Q1 o 2023-T1 (trimestre), "
               "2023-S1 (semestre), 2023 (año a la fecha).")
NAME_WIDTH = 44


def run(args, settings, db) -> int:
    try:
        period = parse_period(args.period)
    except PeriodError:
        print(f"Periodo no válido: «{args.period}». {PERIOD_HELP}", file=sys.stderr)
        return 2
    unit_clave = args.unit.strip() if args.unit else None
    if unit_clave is not None and not db.call(_unit_exists, unit_clave):
        print(f"No existe la unidad «{unit_clave}». Usa su clave, p. ej. 303.", file=sys.stderr)
        return 2
    summary = db.call(
        build_summary, period, unit_clave=unit_clave,
        today=datetime.now(settings.timezone).date(),
        bands=Bands(green=settings.poa_band_green, yellow=settings.poa_band_yellow),
        deadline_day=settings.poa_deadline_day, business_days=settings.business_days,
        approval_required=settings.poa_approval_required)
    if summary.is_empty:
        scope = f" de la unidad {unit_clave}" if unit_clave else ""
        print(f"No hay indicadores del POA {period.year}{scope}. Importa el reporte primero: "
              "poa-bot import-poa ARCHIVO", file=sys.stderr)
        return 1
    render = {"table": render_table, "csv": render_csv, "json": render_json}[args.format]
    sys.stdout.write(render(summary))
    return 0


def _unit_exists(session, clave: str) -> bool:
    return session.exec(select(Unit.id).where(Unit.clave == clave)).first() is not None


# --- machine formats ---------------------------------------------------------------------

def _exact(value: Decimal | None) -> str | None:
    """An exact decimal without exponent or trailing zeros: 255835, 8.33, 0.125."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else format(round_display(value), "f")


def _yes(flag: bool) -> str:
    return "si" if flag else "no"


def csv_rows(summary: Summary) -> list[dict[str, str]]:
    """The CSV rows as dicts keyed by :data:`CSV_COLUMNS` (missing figures are empty)."""
    rows = []
    for unit in summary.units:
        for line in unit.lines:
            rows.append({
                "periodo": summary.period.code,
                "unidad_clave": unit.clave,
                "unidad_nombre": unit.nombre,
                "accion": line.accion,
                "indicador": line.nombre,
                "unidad_medida": line.unidad_medida,
                "frecuencia": line.frecuencia,
                "periodo_indicador": line.period,
                "meta": _exact(line.meta) or "",
                "valor": _exact(line.value) or "",
                "cumplimiento_periodo_pct": _pct(line.attainment) or "",
                "avance_acumulado_pct": _pct(line.cumulative) or "",
                "avance_esperado_pct": _pct(line.expected) or "",
                "estado": line.status.value,
                "reportado": _yes(line.reported),
                "fuera_de_tiempo": _yes(line.late),
                "observaciones": line.observaciones,
                "indicador_id": str(line.indicator_id),
                "periodos_sin_reportar": " ".join(line.missing_periods),
            })
    return rows


def render_csv(summary: Summary) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(summary))
    return buffer.getvalue()


def _line_json(line: IndicatorLine) -> dict:
    return {
        "indicador_id": line.indicator_id,
        "accion": line.accion,
        "indicador": line.nombre,
        "unidad_medida": line.unidad_medida,
        "frecuencia": line.frecuencia,
        "agregacion": line.aggregation,
        "periodo_indicador": line.period,
        "meta": _exact(line.meta),
        "valor": _exact(line.value),
        "cumplimiento_periodo_pct": _pct(line.attainment),
        "avance_acumulado_pct": _pct(line.cumulative),
        "avance_esperado_pct": _pct(line.expected),
        "estado": line.status.value,
        "reportado": line.reported,
        "fuera_de_tiempo": line.late,
        "observaciones": line.observaciones,
        "periodos_sin_reportar": list(line.missing_periods),
        "periodos_tarde": list(line.late_periods),
        "periodos_importados": list(line.imported_periods),
        "periodos_vencidos_sin_reportar": list(line.overdue_periods),
    }


def _reports_json(summary: Summary) -> dict:
    """The first screen's counts, in reports (indicator × period): bot.services.summary_front."""
    from bot.services.summary_front import headline

    head = headline(summary)
    return {"debidos": head.due, "llegaron": head.received, "faltan": head.missing,
            "faltan_vencidos": head.overdue, "a_tiempo": head.on_time, "tarde": head.late,
            "importados": head.imported}


def summary_json(summary: Summary) -> dict:
    """The JSON document as a dict (see the module docstring)."""
    done, on_time = summary.completeness, summary.timeliness
    return {
        "periodo": summary.period.code,
        "periodo_etiqueta": summary.period.label,
        "fecha_corte": summary.today.isoformat(),
        "avance_esperado_pct": _pct(summary.expected),
        "bandas": {"verde": _exact(summary.bands.green),
                   "amarillo": _exact(summary.bands.yellow)},
        "completitud": {
            "unidades_reportadas": done.units_reported, "unidades_debidas": done.units_due,
            "unidades_pct": _pct(_percent(done.units_ratio)),
            "indicadores_reportados": done.indicators_reported,
            "indicadores_debidos": done.indicators_due,
            "indicadores_pct": _pct(_percent(done.indicators_ratio)),
        },
        "puntualidad": {"a_tiempo": on_time.on_time, "debidos": on_time.due,
                        "fuera_de_tiempo": on_time.late,
                        "importados": on_time.imported,
                        "pct": _pct(_percent(on_time.ratio))},
        "reportes": _reports_json(summary),
        "estados": {status.value: summary.status_counts[status] for status in STATUS_ORDER},
        "unidades": [{
            "clave": unit.clave, "nombre": unit.nombre, "responsables": list(unit.responsible),
            "todo_reportado": unit.all_reported, "fuera_de_tiempo": unit.late,
            "aprobacion": unit.approval,
            "indicadores": [_line_json(line) for line in unit.lines],
        } for unit in summary.units],
        "sin_reportar": [{
            "unidad_clave": m.unit_clave, "unidad_nombre": m.unit_nombre,
            "indicador_id": m.indicator_id, "indicador": m.indicador,
            "periodos": list(m.periods), "responsables": list(m.responsible),
            "vencido": m.overdue,
        } for m in summary.missing],
    }


def render_json(summary: Summary) -> str:
    return json.dumps(summary_json(summary), ensure_ascii=False, indent=2) + "\n"


def _percent(ratio: Decimal | None) -> Decimal | None:
    return None if ratio is None else ratio * 100


# --- table for people ---------------------------------------------------------------------

_TABLE_HEADERS = ("Unidad", "Indicador", "Periodo", "Meta", "Valor", "Cumpl.", "Avance",
                  "Esperado", "Estado")
_RIGHT_ALIGNED = {3, 4, 5, 6, 7}


def _figure(value: Decimal | None, unidad_medida: str) -> str:
    if value is None:
        return "—"
    text = format_number(value)
    return f"{text}%" if unidad_medida.strip() == "%" else text


def _short(text: str, width: int = NAME_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _ratio_text(part: int, whole: int, ratio: Decimal | None) -> str:
    if ratio is None:
        return "nada vence aún"
    return f"{part} de {whole} ({format_percent(ratio * 100)})"


def render_table(summary: Summary) -> str:
    done, on_time = summary.completeness, summary.timeliness
    out = [
        f"Resumen POA · {summary.period.label} (avance esperado "
        f"{format_percent(summary.expected)}; corte {summary.today.isoformat()})",
        "Entrega: unidades "
        + _ratio_text(done.units_reported, done.units_due, done.units_ratio)
        + "; indicadores "
        + _ratio_text(done.indicators_reported, done.indicators_due, done.indicators_ratio),
        f"Puntualidad: a tiempo {_ratio_text(on_time.on_time, on_time.due, on_time.ratio)}; "
        f"fuera de tiempo {on_time.late}",
        "Estados: " + ", ".join(f"{status.label.lower()} {summary.status_counts[status]}"
                                for status in STATUS_ORDER if summary.status_counts[status]),
        "",
    ]
    rows = [_TABLE_HEADERS]
    for unit in summary.units:
        for line in unit.lines:
            rows.append((
                unit.clave, _short(line.nombre), line.period,
                _figure(line.meta, line.unidad_medida), _figure(line.value, line.unidad_medida),
                format_percent(line.attainment), format_percent(line.cumulative),
                format_percent(line.expected), _status_text(line.status),
            ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE_HEADERS))]
    for n, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in _RIGHT_ALIGNED else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    if summary.missing:
        out.append("Sin reportar:")
        for m in summary.missing:
            who = ", ".join(m.responsible) or "sin coordinador registrado"
            mark = " (vencido)" if m.overdue else ""
            out.append(f"  {m.unit_clave} {_short(m.unit_nombre, 40)} · {_short(m.indicador)}"
                       f" · {', '.join(m.periods)}{mark} · responsable: {who}")
    else:
        out.append("Sin reportar: nadie.")
    return "\n".join(out) + "\n"


def _status_text(status: Status) -> str:
    # No emoji here: their terminal width varies and would break the column alignment.
    return status.label
