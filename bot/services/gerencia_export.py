"""The POA workbook of one gerencia, of a person's units, or one per gerencia (issue 12).

Each workbook is :func:`bot.services.export.build_report` over the units of one gerencia,
with that gerencia's name in its header (the seed's ``GERENCIA COMERCIAL``), so it reads
back with ``import-poa`` into the same gerencia.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from bot.domain.periods import Period
from bot.poa_report.writer import ReportDocument
from bot.services import scope
from bot.services.export import NothingToExport, build_report


@dataclass(frozen=True)
class GerenciaReport:
    gerencia: str | None  # None: the units of no one gerencia (the writer's default header)
    document: ReportDocument


def report_of_units(session: Session, period: Period, claves: list[str] | None, *,
                    today: date, **build_options) -> GerenciaReport:
    """The report of these units (None: every unit), headed by their gerencia when they all
    belong to one. ``build_options``: bands and deadline_day for the states' colours."""
    name = scope.report_gerencia_name(session, claves)
    options = {"today": today, "unit_claves": None if claves is None else set(claves),
               **build_options}
    if name:
        options["gerencia"] = name
    return GerenciaReport(name, build_report(session, period, **options))


def report_of_gerencia(session: Session, period: Period, gerencia_id: int | None, *,
                       today: date, **build_options) -> GerenciaReport:
    claves = scope.gerencia_claves(session, gerencia_id)
    if not claves:
        raise NothingToExport("Esa gerencia no tiene unidades.")
    return report_of_units(session, period, claves, today=today, **build_options)


def reports_per_gerencia(session: Session, period: Period, *, today: date,
                         **build_options) -> list[GerenciaReport]:
    """One report per gerencia with indicators in the period's POA (gerencias without any
    are left out); NothingToExport if none has."""
    reports = []
    for group in scope.gerencias(session):
        try:
            reports.append(report_of_gerencia(session, period, group.id, today=today,
                                              **build_options))
        except NothingToExport:
            continue
    if not reports:
        raise NothingToExport(f"No hay indicadores del POA {period.year} para exportar.")
    return reports


def file_stem(period: Period, gerencia: str | None) -> str:
    """``POA-2023-Q1`` or ``POA-2023-Q1-GERENCIA-COMERCIAL`` (ASCII, no spaces)."""
    from bot.poa_report.model import norm

    if not gerencia:
        return f"POA-{period.code}"
    slug = "".join(ch if ch.isalnum() else "-" for ch in norm(gerencia) if ch.isascii())
    slug = "-".join(part for part in slug.split("-") if part)[:60]
    return f"POA-{period.code}-{slug}" if slug else f"POA-{period.code}"
