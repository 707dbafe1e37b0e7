"""Loading a read POA report into the database: catalog and reported values.

The import is an upsert keyed on natural identities, so importing the same report twice
changes nothing: gerencias by the name in the report's header (``GERENCIA COMERCIAL``; a
unit belongs to the gerencia of its latest row), units by ``clave``, action lines by
``code``, indicators by year + unit + action + full name (compared without accents, case or
stray spaces), values by indicator + period. A value that differs from the stored one is
updated and the change appended to ``revisions``. A value somebody captured through the bot
is never overwritten by an import: the conflict becomes a warning. An empty VALOR ACTUAL is
"not reported" (no value row); its OBSERVACIONES, if any, are kept in
``remarks_without_value`` for the export. Everything happens in the caller's session, so the
import is one transaction; ``dry_run`` does the whole work and rolls it back. The report
arrives read and checked; the database part is a few SELECTs and bulk statements (see
:class:`_Loader`), so SQLite's write lock is held briefly.

One file (past 400 lines) because the steps (units, action lines, indicators, values,
remarks) share one picture of what exists, read up front, inside one transaction.

A period with a calendarised meta (``programmed_metas``, fichas técnicas) shows that meta in
the export's META column: for such a period the importer takes META as the programmed meta,
not as the indicator's meta in force, and a value whose META equals it is unchanged, so
re-importing an export changes nothing; and the report's check of AVANCE %/ META ANUAL by
the default rule is dropped for indicators with a ficha or a calendar (the export prints
their ficha's figure).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from bot.domain.numbers import format_number
from bot.domain.periods import Period
from bot.poa_report.checks import AVANCE_PCT_CHECK
from bot.poa_report.model import ImportWarning, PoaReport, PoaRow, norm
from storage.models import (
    ROLE_GERENTE,
    ActionLine,
    Ficha,
    Gerencia,
    Indicator,
    Person,
    ProgrammedMeta,
    RemarkWithoutValue,
    ReportedValue,
    Revision,
    Unit,
)

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
    # OBSERVACIONES on rows without value, kept apart (remarks_without_value)
    remarks_new: int = 0
    remarks_changed: int = 0
    # The gerencias named in the report's headers (GERENCIA COMERCIAL), and those new
    gerencias: list[str] = field(default_factory=list)
    gerencias_new: int = 0
    # clave → (unit name, indicators, values) in the report
    per_unit: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    warnings: list[ImportWarning] = field(default_factory=list)
    # Metas that changed during the year (kept per period, not contradictions): Spanish lines
    meta_changes: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return any((self.gerencias_new, self.units_new, self.units_updated, self.action_lines_new,
                    self.action_lines_updated, self.indicators_new, self.indicators_updated,
                    self.values_new, self.values_changed, self.remarks_new,
                    self.remarks_changed))


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
    _lock_for_writing(session)
    indicators = loader.catalog(rows)
    loader.drop_default_avance_checks(rows, indicators)
    if not catalog_only:
        loader.values(rows, indicators)
    loader.summarize(rows, with_values=not catalog_only)
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
    """The import, set-based: a few SELECTs read what exists for the years concerned into
    dicts, the differences are worked out in Python, and each table gets one bulk INSERT and
    one bulk UPDATE (executemany). The statements run do not grow with the report."""

    def __init__(self, session: Session, result: ImportResult, now: datetime, source: str):
        self.session = session
        self.result = result
        self.now = now
        self.source = source
        self.programmed: dict[tuple[int, str], Decimal] | None = None

    def _execute(self, statement, rows: list[dict]) -> None:
        if rows:
            self.session.execute(statement, rows)

    def _programmed(self, years: list[int]) -> dict[tuple[int, str], Decimal]:
        """(indicator id, period code) → the calendarised meta, for the years concerned."""
        if self.programmed is None:
            self.programmed = {(indicator_id, code): meta for indicator_id, code, meta in
                               self.session.execute(
                                   select(ProgrammedMeta.indicator_id, ProgrammedMeta.period,
                                          ProgrammedMeta.meta)
                                   .join(Indicator, Indicator.id == ProgrammedMeta.indicator_id)
                                   .where(Indicator.year.in_(years)))}
        return self.programmed

    def drop_default_avance_checks(self, rows: list[tuple[PoaRow, Period]],
                                   indicators: dict[tuple, int]) -> None:
        """AVANCE %/ META ANUAL was checked by the default rule; an indicator with a ficha or
        a calendar follows its own (as the export prints it): its warnings go."""
        warnings = self.result.warnings
        if not any(w.check == AVANCE_PCT_CHECK for w in warnings):
            return
        years = sorted({period.year for _row, period in rows})
        own = {indicator_id for indicator_id, _code in self._programmed(years)}
        own.update(self.session.execute(
            select(Ficha.indicator_id).join(Indicator, Indicator.id == Ficha.indicator_id)
            .where(Indicator.year.in_(years))).scalars())
        places = {(row.sheet, row.line) for row, period in rows
                  if indicators.get((period.year, *row.key)) in own}
        self.result.warnings = [w for w in warnings if not (
            w.check == AVANCE_PCT_CHECK and (w.sheet, w.line) in places)]

    # --- catalog -----------------------------------------------------------------------
    def catalog(self, rows: list[tuple[PoaRow, Period]]) -> dict[tuple, int]:
        """Units, action lines and indicators; returns indicator id by (year, row key)."""
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
        gerencia_ids = self._gerencias(latest_unit)
        unit_ids = self._units(latest_unit, gerencia_ids)
        line_ids = self._action_lines(latest_line)
        return self._indicators(latest_indicator, unit_ids, line_ids)

    def _gerencias(self, latest: dict[str, PoaRow]) -> dict[str, int]:
        """The gerencias the report's headers name (its ``area`` line), created when new;
        returns gerencia id by the comparison form of its name. When the database ends up
        with a single gerencia, gerentes without one become its gerentes (they were the
        gerentes of "the only gerencia" before anybody named it)."""
        named = {norm(row.section.area): row.section.area
                 for row in latest.values() if row.section.area}
        for name in named.values():
            if len(name) > 255:
                raise ImportRefused(f"el nombre de la gerencia «{name[:40]}…» pasa de 255 "
                                    "caracteres")
        stored = self.session.execute(select(Gerencia.id, Gerencia.nombre)).all()
        existing = {norm(nombre): gerencia_id for gerencia_id, nombre in stored}
        self.gerencia_names = dict(stored)
        new = [{"nombre": name} for key, name in named.items() if key not in existing]
        self.result.gerencias = sorted(named.values())
        if new:
            self.session.execute(insert(Gerencia), new)
            self.result.gerencias_new = len(new)
            existing = {norm(nombre): gerencia_id for gerencia_id, nombre in self.session.execute(
                select(Gerencia.id, Gerencia.nombre))}
            if len(existing) == 1:
                self.session.execute(
                    update(Person).where(Person.role == ROLE_GERENTE,
                                         Person.gerencia_id.is_(None))
                    .values(gerencia_id=next(iter(existing.values()))))
        return existing

    def _units(self, latest: dict[str, PoaRow], gerencia_ids: dict[str, int]) -> dict[str, int]:
        existing = {clave: (unit_id, nombre, gerencia_id)
                    for unit_id, clave, nombre, gerencia_id in self.session.execute(
                        select(Unit.id, Unit.clave, Unit.nombre, Unit.gerencia_id))}
        new, changed = [], []
        for clave, row in latest.items():
            gerencia_id = gerencia_ids.get(norm(row.section.area)) if row.section.area else None
            if clave not in existing:
                new.append({"clave": clave, "nombre": row.unit_nombre,
                            "gerencia_id": gerencia_id})
                continue
            unit_id, nombre, stored_gerencia = existing[clave]
            fields = {}
            if row.unit_nombre and nombre != row.unit_nombre:
                fields["nombre"] = row.unit_nombre
            if gerencia_id is not None and stored_gerencia != gerencia_id:
                fields["gerencia_id"] = gerencia_id
                if stored_gerencia is not None:
                    self.result.warnings.append(ImportWarning(
                        row.line, f"la unidad {clave} era de {self.gerencia_names[stored_gerencia]}"
                        f"; este reporte la pasa a {row.section.area}", row.sheet))
            if fields:
                changed.append({"id": unit_id, "nombre": nombre, "gerencia_id": stored_gerencia,
                                **fields})
        self._execute(insert(Unit), new)
        self._execute(update(Unit), changed)
        self.result.units_new += len(new)
        self.result.units_updated += len(changed)
        if not new:
            return {clave: ids[0] for clave, ids in existing.items()}
        return {clave: unit_id for clave, unit_id in self.session.execute(
            select(Unit.clave, Unit.id))}

    def _action_lines(self, latest: dict[str, PoaRow]) -> dict[str, int]:
        names = ("objetivo", "eje", "sub_eje", "programa", "transversalidad")
        existing = {line.code: line for line in self.session.execute(
            select(ActionLine.id, ActionLine.code, *(getattr(ActionLine, n) for n in names)))}
        new, changed = [], []
        for code, row in latest.items():
            section = row.section
            fields = {"objetivo": row.objetivo, "eje": section.eje, "sub_eje": section.sub_eje,
                      "programa": section.programa,
                      "transversalidad": section.transversalidad}
            stored = existing.get(code)
            if stored is None:
                new.append({"code": code, **fields})
                continue
            merged = {n: getattr(stored, n) for n in names}
            if _assign_dict(merged, {k: v for k, v in fields.items() if v}):
                changed.append({"id": stored.id, **merged})
        self._execute(insert(ActionLine), new)
        self._execute(update(ActionLine), changed)
        self.result.action_lines_new += len(new)
        self.result.action_lines_updated += len(changed)
        if not new:
            return {code: line.id for code, line in existing.items()}
        return {code: line_id for code, line_id in self.session.execute(
            select(ActionLine.code, ActionLine.id))}

    def _indicators(self, latest: dict[tuple, tuple[PoaRow, Period]], unit_ids: dict[str, int],
                    line_ids: dict[str, int]) -> dict[tuple, int]:
        years = sorted({key[0] for key in latest})
        stored_rows = self.session.execute(
            select(*(getattr(Indicator, name) for name in _INDICATOR_COLUMNS))
            .where(Indicator.year.in_(years)).order_by(Indicator.id)).all()
        existing: dict[tuple, dict] = {}
        positions: dict[tuple[int, int], int] = defaultdict(int)
        for stored in stored_rows:
            fields = dict(zip(_INDICATOR_COLUMNS, stored, strict=True))
            identity = (fields["year"], fields["unit_id"], norm(fields["accion"]),
                        norm(fields["nombre"]))
            existing.setdefault(identity, fields)  # the oldest of look-alikes
            place = (fields["year"], fields["unit_id"])
            positions[place] = max(positions[place], fields["position"] or 0)
        latest_end = {indicator_id: end for indicator_id, end in self.session.execute(
            select(ReportedValue.indicator_id, func.max(ReportedValue.period_end))
            .join(Indicator, Indicator.id == ReportedValue.indicator_id)
            .where(Indicator.year.in_(years)).group_by(ReportedValue.indicator_id))}
        programmed = self._programmed(years)

        ids: dict[tuple, int] = {}
        new: dict[tuple, dict] = {}
        changed = []
        for key, (row, period) in latest.items():
            year = period.year
            unit_id = unit_ids[row.unit_clave]
            fields = {"action_line_id": line_ids.get(row.linea) if row.linea else None,
                      "accion": row.accion, "comentarios": row.comentarios,
                      "nombre": row.nombre, "descripcion": row.descripcion, "meta": row.meta,
                      "unidad_medida": row.unidad_medida, "frecuencia": row.frequency.value,
                      "aggregation": row.aggregation}
            stored = existing.get((year, unit_id, norm(row.accion), norm(row.nombre)))
            if stored is None:
                positions[(year, unit_id)] += 1
                new[key] = {"year": year, "unit_id": unit_id,
                            "position": positions[(year, unit_id)], **fields}
                continue
            ids[key] = stored["id"]
            end = latest_end.get(stored["id"])
            if end is not None and end > _same_period_in(row.period, year).end:
                fields.pop("meta")  # a later period's meta is in force; an older report keeps it
            elif (stored["id"], period.code) in programmed:
                fields.pop("meta")  # that period's calendarised meta, not the one in force
            current = {name: stored[name] for name in _INDICATOR_FIELDS}
            if _assign_dict(current, fields):
                changed.append({"id": stored["id"], **current})
                self.result.indicators_updated += 1
            else:
                self.result.indicators_unchanged += 1
        self._execute(insert(Indicator), list(new.values()))
        self._execute(update(Indicator), changed)
        self.result.indicators_new += len(new)
        if new:
            created = {(year, unit_id, accion, nombre): indicator_id
                       for indicator_id, year, unit_id, accion, nombre in self.session.execute(
                           select(Indicator.id, Indicator.year, Indicator.unit_id,
                                  Indicator.accion, Indicator.nombre)
                           .where(Indicator.year.in_(years)))}
            for key, fields in new.items():
                ids[key] = created[(fields["year"], fields["unit_id"], fields["accion"],
                                    fields["nombre"])]
        return ids

    # --- values ------------------------------------------------------------------------
    def values(self, rows: list[tuple[PoaRow, Period]], indicators: dict[tuple, int]) -> None:
        last: dict[tuple, tuple[PoaRow, Period]] = {}
        for row, period in rows:  # a repeated period: the later row wins (checks warned)
            last[((period.year, *row.key), period.code)] = (row, period)
        years = sorted({key[0][0] for key in last})
        stored_values = {(v.indicator_id, v.period): v for v in self.session.execute(
            select(ReportedValue.id, ReportedValue.indicator_id, ReportedValue.period,
                   ReportedValue.value, ReportedValue.meta, ReportedValue.observaciones,
                   ReportedValue.source)
            .join(Indicator, Indicator.id == ReportedValue.indicator_id)
            .where(Indicator.year.in_(years)))}
        stored_remarks = {(r.indicator_id, r.period): r for r in self.session.execute(
            select(RemarkWithoutValue.id, RemarkWithoutValue.indicator_id,
                   RemarkWithoutValue.period, RemarkWithoutValue.observaciones)
            .join(Indicator, Indicator.id == RemarkWithoutValue.indicator_id)
            .where(Indicator.year.in_(years)))}

        programmed = self._programmed(years)

        new_values, changed_values, revisions = [], [], []
        new_remarks, changed_remarks, obsolete_remarks = [], [], []
        for (indicator_key, code), (row, period) in last.items():
            indicator_id = indicators[indicator_key]
            stored = stored_values.get((indicator_id, code))
            meta = row.meta
            if stored is not None and programmed.get((indicator_id, code)) == row.meta:
                meta = stored.meta  # the export's META of a calendarised period
            remark = stored_remarks.get((indicator_id, code))
            if row.value is None:
                self.result.values_not_reported += 1
                if not row.observaciones or stored is not None:
                    continue  # a stored value keeps its own remarks
                if remark is None:
                    new_remarks.append({
                        "indicator_id": indicator_id, "period": code,
                        "observaciones": row.observaciones, "source": SOURCE_IMPORT,
                        "updated_at": self.now})
                elif remark.observaciones != row.observaciones:
                    changed_remarks.append({"id": remark.id, "observaciones": row.observaciones,
                                            "source": SOURCE_IMPORT, "updated_at": self.now})
                continue
            if remark is not None:
                obsolete_remarks.append(remark.id)  # the period has a value now
            if stored is None:
                new_values.append({
                    "indicator_id": indicator_id, "period": code, "year": period.year,
                    "period_start": period.start, "period_end": period.end, "value": row.value,
                    "meta": row.meta, "observaciones": row.observaciones,
                    "reported_at": self.now, "source": SOURCE_IMPORT, "late": False})
                continue
            if (stored.value == row.value and stored.observaciones == row.observaciones
                    and stored.meta == meta):
                self.result.values_unchanged += 1
                continue
            if stored.source != SOURCE_IMPORT:
                self.result.values_kept += 1
                self.result.warnings.append(ImportWarning(
                    row.line, f"{row.label} ({code}): ya se capturó "
                    f"{format_number(stored.value)} por {stored.source}; se conserva y se "
                    f"ignora el {format_number(row.value)} del reporte", row.sheet))
                continue
            if stored.value != row.value or stored.observaciones != row.observaciones:
                revisions.append({
                    "indicator_id": indicator_id, "period": code, "old_value": stored.value,
                    "new_value": row.value, "old_observaciones": stored.observaciones,
                    "new_observaciones": row.observaciones, "person_id": None, "at": self.now,
                    "source": SOURCE_IMPORT, "reason": f"importación de {self.source}"})
            changed_values.append({"id": stored.id, "value": row.value,
                                   "observaciones": row.observaciones, "meta": meta,
                                   "reported_at": self.now})
        self._execute(insert(ReportedValue), new_values)
        self._execute(update(ReportedValue), changed_values)
        self._execute(insert(Revision), revisions)
        self._execute(insert(RemarkWithoutValue), new_remarks)
        self._execute(update(RemarkWithoutValue), changed_remarks)
        if obsolete_remarks:
            self.session.execute(delete(RemarkWithoutValue)
                                 .where(RemarkWithoutValue.id.in_(obsolete_remarks)))
        self.result.values_new += len(new_values)
        self.result.values_changed += len(changed_values)
        self.result.remarks_new += len(new_remarks)
        self.result.remarks_changed += len(changed_remarks)

    # --- what was loaded ---------------------------------------------------------------
    def summarize(self, rows: list[tuple[PoaRow, Period]], *, with_values: bool) -> None:
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


_INDICATOR_FIELDS = ("action_line_id", "accion", "comentarios", "nombre", "descripcion", "meta",
                     "unidad_medida", "frecuencia", "aggregation")
_INDICATOR_COLUMNS = ("id", "year", "unit_id", "position", *_INDICATOR_FIELDS)


def _lock_for_writing(session: Session) -> None:
    """On SQLite, take the write lock now (``BEGIN IMMEDIATE``), waiting for the bot's short
    transactions: a transaction that reads first and writes later fails at once, without
    waiting, when somebody else wrote in between. The report is already read and checked,
    so the lock is held only for the import's few bulk statements."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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


def _assign_dict(target: dict, fields: dict) -> bool:
    """Set in ``target`` the fields that differ; True if any did."""
    changed = False
    for name, value in fields.items():
        current = target[name]
        if isinstance(value, Decimal) and current is not None:
            differs = Decimal(current) != value
        else:
            differs = current != value
        if differs:
            target[name] = value
            changed = True
    return changed
