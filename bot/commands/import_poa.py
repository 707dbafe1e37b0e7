"""``poa-bot import-poa FILE [--dry-run] [--catalog-only] [--year YYYY]``.

Reads the report (TSV export or .xlsx), loads it in one transaction and prints what it
loaded and the numbered warnings where the report contradicts itself. Exit 0 on success,
warnings included; 1 with one clear Spanish line for an unreadable or malformed file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.poa_report import PoaFormatError, read_report
from bot.services.importer import ImportRefused, ImportResult, import_report


def run(args, settings, db) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"No existe el archivo {path}", file=sys.stderr)
        return 1
    try:
        report = read_report(path)
        with db.session() as session:
            result = import_report(session, report, catalog_only=args.catalog_only,
                                   year=args.year, dry_run=args.dry_run)
    except PoaFormatError as exc:
        print(f"{path.name}: {exc}. No se importó nada.", file=sys.stderr)
        return 1
    except ImportRefused as exc:
        print(f"{path.name}: {exc}. No se importó nada.", file=sys.stderr)
        return 1
    print(render(result, sections=len(report.sections), rows=len(report.rows)))
    return 0


def render(result: ImportResult, *, sections: int, rows: int) -> str:
    years = ", ".join(map(str, result.years))
    lines = []
    if result.dry_run:
        lines.append("SIMULACIÓN (--dry-run): no se guardó nada; esto es lo que se cargaría.")
    lines.append(f"Reporte {result.source}: {sections} secciones, {rows} filas; POA {years}.")
    if not result.catalog_only:
        lines.append(f"Periodos: {', '.join(result.periods)}")
    if result.gerencias:
        new = f" ({result.gerencias_new} nueva{'s' if result.gerencias_new != 1 else ''})" \
            if result.gerencias_new else ""
        lines.append(f"Gerencia{'s' if len(result.gerencias) > 1 else ''}: "
                     f"{', '.join(result.gerencias)}{new}.")
    lines.append(f"Unidades: {result.units_new} nuevas, {result.units_updated} actualizadas.")
    lines.append(f"Líneas de acción: {result.action_lines_new} nuevas, "
                 f"{result.action_lines_updated} actualizadas.")
    lines.append(f"Indicadores: {result.indicators_new} nuevos, "
                 f"{result.indicators_updated} actualizados, "
                 f"{result.indicators_unchanged} sin cambios.")
    if result.catalog_only:
        lines.append("Valores: no se cargaron (--catalog-only).")
    else:
        values = (f"Valores: {result.values_new} nuevos, {result.values_changed} cambiados, "
                  f"{result.values_unchanged} sin cambios")
        if result.values_not_reported:
            values += f", {result.values_not_reported} sin reportar (VALOR ACTUAL vacío)"
        if result.values_kept:
            values += f", {result.values_kept} conservados (capturados por el bot)"
        lines.append(values + ".")
        if result.remarks_new or result.remarks_changed:
            lines.append(f"Observaciones de periodos sin valor: {result.remarks_new} nuevas, "
                         f"{result.remarks_changed} cambiadas.")
    lines.append("")
    for clave, (name, indicators, values) in result.per_unit.items():
        detail = _count(indicators, "indicador", "indicadores")
        if not result.catalog_only:
            detail += ", " + _count(values, "valor", "valores")
        lines.append(f"  {clave} {name}: {detail}")
    if result.meta_changes:
        lines.append("")
        lines.append("Metas que cambiaron durante el año (cada periodo conserva la suya):")
        lines += [f"  {change}" for change in result.meta_changes]
    lines.append("")
    if result.warnings:
        lines.append(f"Advertencias ({len(result.warnings)}): el reporte se contradice en")
        width = len(str(len(result.warnings)))
        lines += [f"{n:>{width}}. {w}" for n, w in enumerate(result.warnings, start=1)]
    else:
        lines.append("Sin advertencias: las cifras del reporte cuadran.")
    if not result.dry_run and not result.changed_anything:
        lines.append("Nada cambió: el reporte ya estaba cargado.")
    return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
