"""Loading a read POA report into the database: catalog and reported values.

The import is an upsert keyed on natural identities, so importing the same report twice
changes nothing: units by ``clave``, action lines by ``code``, indicators by year + unit +
action + full name (compared without accents, case or stray spaces), values by indicator +
period. A value that differs from the stored one is updated and the change appended to
``revisions``. A value somebody captured through the bot is never overwritten by an import:
the conflict becomes a warning. Everything happens in the caller's session, so the import
is one transaction; ``dry_run`` does the whole work and rolls it back.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from bot.domain.numbers import format_number
from bot.domain.periods import Period
from bot.poa_report.model import ImportWarning, PoaReport, PoaRow, norm
from storage.models import ActionLine, Indicator, ReportedValue, Revision, Unit

SOURCE_IMPORT = "import"


class ImportRefused(ValueError):
    """The report cannot be imported as asked (Spanish message)."""


@dataclass
class ImportResult:
    source: str
    years: list[int]
    periods: list[str]
    catalog_only: bool
    dry_run: bool
    units_new: int = 0
    units_updated: int = 0
    action_lines_new: int = 0
    action_lines_updated: int = 0
    indicators_new: int = 0
    indicators_updated: int = 0
    indicators_unchanged: int = 0
    values_new: int = 0
    values_changed: int = 0
    values_unchanged: int = 0
    values_not_reported: int = 0  # empty VALOR ACTUAL: nothing stored (never a zero)
    values_kept: int = 0  # captured through the bot; the import did not overwrite them
    # clave → (unit name, indicators, values) in the report
    per_unit: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    warnings: list[ImportWarning] = field(default_factory=list)
    # Metas that changed during the year (kept per period, not contradictions): Spanish lines
    meta_changes: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return any((self.units_new, self.units_updated, self.action_lines_new,
                    self.action_lines_updated, self.indicators_new, self.indicators_updated,
                    self.values_new, self.values_changed))


def import_report(session: Session, report: PoaReport, *, catalog_only: bool = False,
                  year: int | None = None, dry_run: bool = False,
                  now: datetime | None = None) -> ImportResult:
    """Upsert ``report`` into the database through ``session`` (one transaction).

    ``year`` loads the report as the POA of another year (every period moves to the same
    period of that year: the yearly roll-over). ``catalog_only`` loads the indicators
    without values. ``dry_run`` rolls everything back after counting it.
    """
    now = now or datetime.now(UTC)
    rows = _rows_in_year(report, year)
    result = ImportResult(source=report.source, years=sorted({p.year for _r, p in rows}),
                          periods=[p.code for p in sorted({p for _r, p in rows},
                                                          key=_months_then_quarters)],
                          catalog_only=catalog_only, dry_run=dry_run,
                          warnings=list(report.warnings))
    loader = _Loader(session, result, now, report.source)
    indicators = loader.catalog(rows)
    if not catalog_only:
        loader.values(rows, indicators)
    loader.summarize(rows, indicators, with_values=not catalog_only)
    if dry_run:
        session.rollback()
    else:
        session.flush()
    return result


def _rows_in_year(report: PoaReport, year: int | None) -> list[tuple[PoaRow, Period]]:
    if year is None:
        return [(row, row.period) for row in report.rows]
    if len(report.years) > 1:
        raise ImportRefused(
            f"el reporte abarca varios años ({', '.join(map(str, report.years))}); "
            "--year solo sirve para un reporte de un año")
    return [(row, _same_period_in(row.period, year)) for row in report.rows]


def _same_period_in(period: Period, year: int) -> Period:
    if period.kind == "Y":
        return Period.whole_year(year)
    make = {"M": Period.month, "Q": Period.quarter, "S": Period.half}[period.kind]
    return make(year, period.index)


class _Loader:
    def __init__(self, session: Session, result: ImportResult, now: datetime, source: str):
        self.session = session
        self.result = result
        self.now = now
        self.source = source

    # --- catalog -----------------------------------------------------------------------
    def catalog(self, rows: list[tuple[PoaRow, Period]]) -> dict[tuple, Indicator]:
        """Units, action lines and indicators; returns indicator by (year, row key)."""
        latest_unit: dict[str, PoaRow] = {}
        latest_line: dict[str, PoaRow] = {}
        latest_indicator: dict[tuple, tuple[PoaRow, Period]] = {}
        for row, period in rows:
            # The row of the latest period wins (its meta is the one in force); among rows
            # of the same period, the later one in the file.
            latest_unit[row.unit_clave] = _later(latest_unit.get(row.unit_clave), row)
            if row.linea:
                latest_line[row.linea] = _later(latest_line.get(row.linea), row)
            key = (period.year, *row.key)
            current = latest_indicator.get(key)
            if current is None or (row.period, row.line) >= (current[0].period, current[0].line):
                latest_indicator[key] = (row, period)

        units = {clave: self._unit(row) for clave, row in latest_unit.items()}
        lines = {code: self._action_line(code, row) for code, row in latest_line.items()}
        self.session.flush()
        indicators = {}
        for key, (row, period) in latest_indicator.items():
            indicators[key] = self._indicator(row, period.year, units[row.unit_clave],
                                              lines.get(row.linea))
        self.session.flush()
        return indicators

    def _unit(self, row: PoaRow) -> Unit:
        unit = self.session.exec(select(Unit).where(Unit.clave == row.unit_clave)).first()
        if unit is None:
            unit = Unit(clave=row.unit_clave, nombre=row.unit_nombre)
            self.session.add(unit)
            self.result.units_new += 1
        elif row.unit_nombre and unit.nombre != row.unit_nombre:
            unit.nombre = row.unit_nombre
            self.session.add(unit)
            self.result.units_updated += 1
        return unit

    def _action_line(self, code: str, row: PoaRow) -> ActionLine:
        section = row.section
        fields = {"objetivo": row.objetivo, "eje": section.eje, "sub_eje": section.sub_eje,
                  "programa": section.programa, "transversalidad": section.transversalidad}
        line = self.session.exec(select(ActionLine).where(ActionLine.code == code)).first()
        if line is None:
            line = ActionLine(code=code, **fields)
            self.session.add(line)
            self.result.action_lines_new += 1
        elif _assign(line, {k: v for k, v in fields.items() if v}):
            self.session.add(line)
            self.result.action_lines_updated += 1
        return line

    def _indicator(self, row: PoaRow, year: int, unit: Unit,
                   line: ActionLine | None) -> Indicator:
        fields = {"action_line_id": line.id if line else None, "accion": row.accion,
                  "comentarios": row.comentarios, "nombre": row.nombre,
                  "descripcion": row.descripcion, "meta": row.meta,
                  "unidad_medida": row.unidad_medida, "frecuencia": row.frequency.value,
                  "aggregation": row.aggregation}
        indicator = self._find_indicator(year, unit, row)
        if indicator is None:
            position = self.session.exec(
                select(func.max(Indicator.position)).where(Indicator.year == year,
                                                           Indicator.unit_id == unit.id)
            ).first() or 0
            indicator = Indicator(year=year, unit_id=unit.id, position=position + 1, **fields)
            self.session.add(indicator)
            self.session.flush()  # the next new indicator of this unit sees this position
            self.result.indicators_new += 1
            return indicator
        if self._has_newer_values(indicator, row, year):
            fields.pop("meta")  # a later period's meta is in force; an older report keeps it
        if _assign(indicator, fields):
            self.session.add(indicator)
            self.result.indicators_updated += 1
        else:
            self.result.indicators_unchanged += 1
        return indicator

    def _find_indicator(self, year: int, unit: Unit, row: PoaRow) -> Indicator | None:
        candidates = self.session.exec(
            select(Indicator).where(Indicator.year == year, Indicator.unit_id == unit.id)).all()
        wanted = (norm(row.accion), norm(row.nombre))
        return next((i for i in candidates if (norm(i.accion), norm(i.nombre)) == wanted), None)

    def _has_newer_values(self, indicator: Indicator, row: PoaRow, year: int) -> bool:
        latest_end = self.session.exec(
            select(func.max(ReportedValue.period_end))
            .where(ReportedValue.indicator_id == indicator.id)).first()
        own_end = _same_period_in(row.period, year).end
        return latest_end is not None and latest_end > own_end

    # --- values ------------------------------------------------------------------------
    def values(self, rows: list[tuple[PoaRow, Period]],
               indicators: dict[tuple, Indicator]) -> None:
        last: dict[tuple, tuple[PoaRow, Period]] = {}
        for row, period in rows:  # a repeated period: the later row wins (checks warned)
            last[((period.year, *row.key), period.code)] = (row, period)
        for (indicator_key, _code), (row, period) in last.items():
            indicator = indicators[indicator_key]
            if row.value is None:
                self.result.values_not_reported += 1
                continue
            self._value(indicator, row, period)
        self.session.flush()

    def _value(self, indicator: Indicator, row: PoaRow, period: Period) -> None:
        stored = self.session.exec(
            select(ReportedValue).where(ReportedValue.indicator_id == indicator.id,
                                        ReportedValue.period == period.code)).first()
        if stored is None:
            self.session.add(ReportedValue(
                indicator_id=indicator.id, period=period.code, year=period.year,
                period_start=period.start, period_end=period.end, value=row.value,
                meta=row.meta, observaciones=row.observaciones, reported_at=self.now,
                source=SOURCE_IMPORT, late=False))
            self.result.values_new += 1
            return
        same = (stored.value == row.value and stored.observaciones == row.observaciones
                and stored.meta == row.meta)
        if same:
            self.result.values_unchanged += 1
            return
        if stored.source != SOURCE_IMPORT:
            self.result.values_kept += 1
            self.result.warnings.append(ImportWarning(
                row.line, f"{row.label} ({period.code}): ya se capturó "
                f"{format_number(stored.value)} por {stored.source}; se conserva y se ignora "
                f"el {format_number(row.value)} del reporte", row.sheet))
            return
        if stored.value != row.value or stored.observaciones != row.observaciones:
            self.session.add(Revision(
                indicator_id=indicator.id, period=period.code, old_value=stored.value,
                new_value=row.value, old_observaciones=stored.observaciones,
                new_observaciones=row.observaciones, at=self.now, source=SOURCE_IMPORT,
                reason=f"importación de {self.source}"))
        stored.value = row.value
        stored.observaciones = row.observaciones
        stored.meta = row.meta
        stored.reported_at = self.now
        self.session.add(stored)
        self.result.values_changed += 1

    # --- what was loaded ---------------------------------------------------------------
    def summarize(self, rows: list[tuple[PoaRow, Period]], indicators: dict[tuple, Indicator],
                  *, with_values: bool) -> None:
        names: dict[str, str] = {}
        per_unit_indicators: dict[str, set] = defaultdict(set)
        per_unit_values: dict[str, set] = defaultdict(set)
        for row, period in rows:
            names[row.unit_clave] = row.unit_nombre
            per_unit_indicators[row.unit_clave].add((period.year, *row.key))
            if with_values and row.value is not None:
                per_unit_values[row.unit_clave].add((row.key, period.code))
        for clave in sorted(names):
            self.result.per_unit[clave] = (names[clave], len(per_unit_indicators[clave]),
                                           len(per_unit_values[clave]))
        self.result.meta_changes = _meta_changes(rows)


def _meta_changes(rows: list[tuple[PoaRow, Period]]) -> list[str]:
    """``303 · CAPTURA…: 255,948 (2023-01) → 255,835 (2023-02)`` for each meta that moved."""
    by_indicator: dict[tuple, list[tuple[Period, PoaRow]]] = defaultdict(list)
    for row, period in rows:
        by_indicator[(period.year, *row.key)].append((period, row))
    changes = []
    for entries in by_indicator.values():
        entries.sort(key=lambda entry: entry[0])
        steps = [entries[0]] + [b for a, b in itertools.pairwise(entries)
                                if a[1].meta != b[1].meta]
        if len(steps) > 1:
            chain = " → ".join(f"{format_number(row.meta)} ({period.code})"
                               for period, row in steps)
            changes.append(f"{entries[0][1].label}: {chain}")
    return changes


def _months_then_quarters(period: Period) -> tuple:
    return (period.month_count, period.start)


def _later(current: PoaRow | None, row: PoaRow) -> PoaRow:
    if current is None or (row.period, row.line) >= (current.period, current.line):
        return row
    return current


def _assign(obj, fields: dict) -> bool:
    """Set the fields that differ; True if any did."""
    changed = False
    for name, value in fields.items():
        current = getattr(obj, name)
        if isinstance(value, Decimal) and current is not None:
            differs = Decimal(current) != value
        else:
            differs = current != value
        if differs:
            setattr(obj, name, value)
            changed = True
    return changed
