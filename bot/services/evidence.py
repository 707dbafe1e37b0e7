"""Evidence (*medios de verificación*): the photos and documents behind a reported value.

A coordinador sends a photo or a document for one indicator and period of their units: with
``/evidencia`` (unit → period → indicator, single choices made for them) or right after
confirming a value (while the bot asks for remarks). Each file is stored as an
:class:`~storage.models.Evidence` row with Telegram's ``file_id`` (to send it again) and
``file_unique_id`` (the same file sent twice is stored once), name, type, size, the sha256 of
the downloaded bytes, who and when, and a copy on disk under ``POA_EVIDENCE_DIR`` at
``<unit clave>/<period>/<indicator id>-<file_unique_id>-<name>`` (``local_path`` is that path,
relative to the folder, so moving the folder moves nothing in the database).

Where a ficha has ``evidencia_obligatoria``, an indicator with a value and no evidence for
that period is still owed: :func:`lacking_query` feeds reminders and the gerente's list of
who is late (``bot.services.pending``), :func:`lacking_pairs` the summary's completeness,
:func:`lacking_for_person` ``/pendientes``.

This module knows rows and files, nothing of Telegram: the handler (``handlers/evidence.py``)
downloads and passes the bytes' path here.

Why one file of ~430 lines: choosing a target, storing, the "still owed" queries, listing and
the zip all read the same ``evidence`` rows by the same rules (which periods an asked period
holds, where a copy lives); split apart, those rules would be restated in each piece.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy import and_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.short_names import display_name
from storage.models import (
    Conversation,
    Evidence,
    EvidenceInbox,
    Ficha,
    Indicator,
    Person,
    PersonUnit,
    ReportedValue,
    Unit,
)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's getFile limit
INBOX_TTL = timedelta(hours=2)  # files go to the chosen indicator for this long after a choice
MAX_PERIOD_CHOICES = 6
MAX_RESEND = 30  # files re-sent per press (the list says how many more there are)
PHOTO, DOCUMENT = "photo", "document"
REPORT_FLOW, REMARKS_STEP = "r", "remarks"  # bot.services.conversation's names


@dataclass(frozen=True)
class Target:
    """The indicator and period a file is evidence of."""

    indicator_id: int
    period: str  # Period.code
    indicator: str  # the indicator's short name, for the chat (display_name)
    unit_clave: str
    unit_nombre: str
    mandatory: bool = False


@dataclass(frozen=True)
class IncomingFile:
    """What a message says about its file, before anything is downloaded."""

    kind: str  # PHOTO | DOCUMENT
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    size: int | None  # None: the message did not say

    @property
    def too_big(self) -> bool:
        return self.size is not None and self.size > MAX_DOWNLOAD_BYTES


def period_of(code: str) -> Period | None:
    try:
        return period_from_code(code)
    except PeriodError:
        return None


# --- files on disk ------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, limit: int = 80) -> str:
    """A file or folder name safe on any disk and in a zip: ASCII letters, digits, ``._-``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", plain).strip("._") or "archivo"
    if len(cleaned) > limit:
        stem, dot, suffix = cleaned.rpartition(".")
        cleaned = (stem[:limit - len(suffix) - 1] + "." + suffix if dot and len(suffix) <= 8
                   else cleaned[:limit])
    return cleaned


def relative_path(target: Target, incoming: IncomingFile) -> str:
    """Where the copy goes, relative to the evidence folder (POSIX separators)."""
    name = f"{target.indicator_id}-{safe_name(incoming.file_unique_id, 40)}-" \
           f"{safe_name(incoming.file_name)}"
    return str(PurePosixPath(safe_name(target.unit_clave, 40), target.period, name))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- targets ------------------------------------------------------------------------------------

def _mandatory(session: Session, indicator_id: int) -> bool:
    ficha = session.get(Ficha, indicator_id)
    return bool(ficha and ficha.evidencia_obligatoria)


def _reported_of(person_id: int, period_code: str):
    """(Indicator, Unit) of the person's units whose indicator has a value for the period:
    what may receive evidence."""
    return (select(Indicator, Unit)
            .join(Unit, col(Unit.id) == col(Indicator.unit_id))
            .join(PersonUnit, and_(col(PersonUnit.unit_id) == col(Unit.id),
                                   col(PersonUnit.person_id) == person_id))
            .join(ReportedValue, and_(col(ReportedValue.indicator_id) == col(Indicator.id),
                                      col(ReportedValue.period) == period_code)))


def target_for(session: Session, person_id: int, indicator_id: int,
               period_code: str) -> Target | None:
    """The target if the indicator is of one of the person's units and has a value for the
    period; None for anything else (forged or stale button data)."""
    if period_of(period_code) is None:
        return None
    row = session.exec(_reported_of(person_id, period_code)
                       .where(Indicator.id == indicator_id)).first()
    if row is None:
        return None
    indicator, unit = row
    return Target(indicator.id, period_code, display_name(indicator.nombre, indicator.short_name),
                  unit.clave, unit.nombre,
                  _mandatory(session, indicator.id))


def set_inbox(session: Session, chat_id: int, person_id: int, target: Target,
              now: datetime) -> None:
    """The chat's next files go to ``target`` (for :data:`INBOX_TTL`)."""
    row = session.get(EvidenceInbox, chat_id)
    if row is None:
        row = EvidenceInbox(chat_id=chat_id, person_id=person_id,
                            indicator_id=target.indicator_id, period=target.period, set_at=now)
    else:
        row.person_id, row.indicator_id, row.period, row.set_at = (
            person_id, target.indicator_id, target.period, now)
    session.add(row)


def current_target(session: Session, chat_id: int, person_id: int,
                   now: datetime) -> Target | None:
    """Where a file sent now goes: the more recent of the ``/evidencia`` choice (if younger
    than :data:`INBOX_TTL`) and the value whose remarks the report flow is asking for (a
    value just confirmed). None: the person must choose with ``/evidencia``."""
    candidates: list[tuple[datetime, int, str]] = []
    inbox = session.get(EvidenceInbox, chat_id)
    if inbox is not None and inbox.person_id == person_id and now - inbox.set_at <= INBOX_TTL:
        candidates.append((inbox.set_at, inbox.indicator_id, inbox.period))
    conversation = session.get(Conversation, chat_id)
    if conversation is not None:
        try:
            state = json.loads(conversation.state or "{}")
        except ValueError:
            state = {}
        if (isinstance(state, dict) and state.get("flow") == REPORT_FLOW
                and state.get("step") == REMARKS_STEP):
            with contextlib.suppress(TypeError, ValueError):
                candidates.append((conversation.updated_at, int(state.get("indicator")),
                                   str(state.get("period"))))
    for _at, indicator_id, period_code in sorted(candidates, reverse=True):
        target = target_for(session, person_id, indicator_id, period_code)
        if target is not None:
            return target
    return None


# --- choices for /evidencia ---------------------------------------------------------------------


def periods_with_values(session: Session, unit_clave: str,
                        limit: int = MAX_PERIOD_CHOICES) -> list[Period]:
    """Periods for which the unit has values, most recent first (at most ``limit``)."""
    codes = session.exec(
        select(ReportedValue.period, func.max(ReportedValue.period_end))
        .join(Indicator, col(Indicator.id) == col(ReportedValue.indicator_id))
        .join(Unit, col(Unit.id) == col(Indicator.unit_id))
        .where(Unit.clave == unit_clave)
        .group_by(ReportedValue.period)
        .order_by(func.max(ReportedValue.period_end).desc(), ReportedValue.period)
        .limit(limit)).all()
    return [p for p in (period_of(code) for code, _end in codes) if p is not None]


@dataclass(frozen=True)
class Choice:
    target: Target
    files: int  # evidence already stored


def choices(session: Session, person_id: int, unit_clave: str, period: Period) -> list[Choice]:
    """The person's unit's indicators with a value for ``period``, with their evidence count."""
    rows = session.exec(_reported_of(person_id, period.code)
                        .where(Unit.clave == unit_clave)
                        .order_by(Indicator.position, Indicator.id)).all()
    ids = [indicator.id for indicator, _unit in rows]
    counts = dict(session.exec(
        select(Evidence.indicator_id, func.count(Evidence.id))
        .where(col(Evidence.indicator_id).in_(ids), Evidence.period == period.code)
        .group_by(Evidence.indicator_id)).all()) if ids else {}
    mandatory = set(session.exec(select(Ficha.indicator_id).where(
        col(Ficha.indicator_id).in_(ids), col(Ficha.evidencia_obligatoria)))) if ids else set()
    return [Choice(Target(indicator.id, period.code,
                          display_name(indicator.nombre, indicator.short_name),
                          unit.clave, unit.nombre,
                          indicator.id in mandatory), counts.get(indicator.id, 0))
            for indicator, unit in rows]


# --- storing ------------------------------------------------------------------------------------

def already_stored(session: Session, target: Target, file_unique_id: str) -> bool:
    return session.exec(select(Evidence.id).where(
        Evidence.indicator_id == target.indicator_id, Evidence.period == target.period,
        Evidence.file_unique_id == file_unique_id)).first() is not None


def _insert(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Evidence.__table__
    return lambda values: insert(table).values(**values).on_conflict_do_nothing(
        index_elements=["indicator_id", "period", "file_unique_id"]).returning(table.c.id)


def store(session: Session, chat_id: int, person_id: int, target: Target,
          incoming: IncomingFile, size: int, sha256: str, local_path: str,
          now: datetime) -> int | None:
    """Record a downloaded file; its id, or None if the same file was already stored for
    the indicator and period (two copies sent at once: one row). A ``/evidencia`` choice of
    this target stays alive while files keep coming."""
    statement = _insert(session.get_bind().dialect.name)(dict(
        indicator_id=target.indicator_id, period=target.period, kind=incoming.kind,
        file_id=incoming.file_id, file_unique_id=incoming.file_unique_id,
        file_name=incoming.file_name[:255], mime_type=incoming.mime_type[:255], size=size,
        sha256=sha256, local_path=local_path, person_id=person_id, received_at=now))
    inserted = session.connection().execute(statement).first()
    inbox = session.get(EvidenceInbox, chat_id)
    if (inbox is not None and inbox.indicator_id == target.indicator_id
            and inbox.period == target.period):
        inbox.set_at = now
        session.add(inbox)
    return inserted[0] if inserted else None


def count_for(session: Session, target: Target) -> int:
    return session.exec(select(func.count(Evidence.id)).where(
        Evidence.indicator_id == target.indicator_id, Evidence.period == target.period)).one()


# --- mandatory evidence still owed --------------------------------------------------------------

def lacking_query(period: Period):
    """(Indicator, Unit) due for ``period`` whose ficha makes evidence mandatory and which
    have a value but no evidence for it, in report order."""
    return (select(Indicator, Unit)
            .join(Unit, col(Unit.id) == col(Indicator.unit_id))
            .join(Ficha, and_(col(Ficha.indicator_id) == col(Indicator.id),
                              col(Ficha.evidencia_obligatoria)))
            .join(ReportedValue, and_(col(ReportedValue.indicator_id) == col(Indicator.id),
                                      col(ReportedValue.period) == period.code))
            .outerjoin(Evidence, and_(col(Evidence.indicator_id) == col(Indicator.id),
                                      col(Evidence.period) == period.code))
            .where(Indicator.year == period.year,
                   Indicator.frecuencia == period.frequency.value,
                   col(Evidence.id).is_(None))
            .order_by(Unit.clave, Indicator.position, Indicator.id))


def lacking_in_unit(session: Session, unit_clave: str,
                    period: Period) -> list[tuple[int, str]]:
    """(indicator id, short name) of the unit's values for ``period`` that still owe their
    mandatory evidence: what the end of a report says and offers to attach."""
    return [(indicator.id, display_name(indicator.nombre, indicator.short_name))
            for indicator, _unit in session.exec(
                lacking_query(period).where(Unit.clave == unit_clave)).all()]


def lacking_pairs(session: Session, year: int,
                  unit_clave: str | None = None) -> set[tuple[int, str]]:
    """(indicator id, period code) of the year's values that lack mandatory evidence.

    Driven by the year's (few) indicators whose ficha asks for evidence, then their values by
    the (indicator, period) index: with the values' year in the query instead, SQLite's
    planner walked all of the year's values (40 ms of every state-wide summary, even with
    no ficha asking for evidence)."""
    mandatory = (select(Ficha.indicator_id)
                 .join(Indicator, col(Indicator.id) == col(Ficha.indicator_id))
                 .where(col(Ficha.evidencia_obligatoria), Indicator.year == year))
    if unit_clave is not None:
        mandatory = mandatory.join(Unit, col(Unit.id) == col(Indicator.unit_id)).where(
            Unit.clave == unit_clave)
    has_evidence = (select(Evidence.id).where(
        col(Evidence.indicator_id) == col(ReportedValue.indicator_id),
        col(Evidence.period) == col(ReportedValue.period)).exists())
    return set(session.exec(
        select(ReportedValue.indicator_id, ReportedValue.period)
        .where(col(ReportedValue.indicator_id).in_(mandatory), ~has_evidence)).all())


def lacking_for_person(session: Session, person_id: int, unit_clave: str,
                       periods: Iterable[Period]) -> list[tuple[Period, tuple[str, ...]]]:
    """For ``/pendientes``: per period, the unit's indicators still owing mandatory evidence."""
    result = []
    for period in periods:
        rows = session.exec(
            lacking_query(period).join(PersonUnit, col(PersonUnit.unit_id) == col(Unit.id))
            .where(PersonUnit.person_id == person_id, Unit.clave == unit_clave)).all()
        names = tuple(display_name(indicator.nombre, indicator.short_name)
                      for indicator, _unit in rows)
        if names:
            result.append((period, names))
    return result


# --- listing, re-sending, the zip ---------------------------------------------------------------

def ends_within(code: str, period: Period) -> bool:
    """Evidence of an indicator period belongs to an asked period when it ends inside it
    (March and Q1 in a March list; every month, Q1 in a Q1 list), as the summary shows them."""
    own = period_of(code)
    return own is not None and period.start <= own.end <= period.end


@dataclass(frozen=True)
class Item:
    unit_clave: str
    unit_nombre: str
    indicator_id: int
    indicator: str
    period: str
    evidence: Evidence
    sent_by: str


def items(session: Session, period: Period, unit_claves: Iterable[str] | None = None) -> list[Item]:
    """Evidence of the units (all when None) whose periods end within ``period``, by unit,
    indicator (report order), period and arrival."""
    statement = (select(Evidence, Indicator, Unit, Person.name)
                 .join(Indicator, col(Indicator.id) == col(Evidence.indicator_id))
                 .join(Unit, col(Unit.id) == col(Indicator.unit_id))
                 .outerjoin(Person, col(Person.id) == col(Evidence.person_id))
                 .where(Indicator.year == period.year)
                 .order_by(Unit.clave, Indicator.position, Indicator.id, Evidence.period,
                           Evidence.received_at, Evidence.id))
    if unit_claves is not None:
        statement = statement.where(col(Unit.clave).in_(list(unit_claves)))
    return [Item(unit.clave, unit.nombre, indicator.id, indicator.nombre, evidence.period,
                 evidence, name or "")
            for evidence, indicator, unit, name in session.exec(statement).all()
            if ends_within(evidence.period, period)]


def zip_path(item: Item) -> str:
    """The file's place in the export zip: ``evidencias/<unit clave>/<period>/<file>``."""
    return str(PurePosixPath("evidencias", safe_name(item.unit_clave, 40), item.period,
                             PurePosixPath(item.evidence.local_path).name))


MANIFEST_NAME = "evidencias/manifiesto.csv"
MANIFEST_COLUMNS = ("unidad_clave", "periodo", "indicador_id", "indicador", "archivo_en_zip",
                    "nombre_original", "tipo", "mime_type", "bytes", "sha256", "recibido",
                    "enviado_por", "file_id", "estado")


@dataclass(frozen=True)
class ZipResult:
    files: int
    missing: tuple[str, ...]  # copies not found on disk (listed in the manifest, not zipped)
    altered: tuple[str, ...]  # copies whose sha256 no longer matches (zipped, flagged)


def write_zip(out: Path, workbook_name: str, workbook: bytes, evidence: list[Item],
              evidence_dir: Path) -> ZipResult:
    """The workbook, every copy under ``evidencias/<unit>/<period>/`` and a manifest CSV
    (UTF-8 with BOM, one row per evidence, sha256 as stored at arrival)."""
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    missing, altered, written = [], [], 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(workbook_name, workbook)
        for item in evidence:
            row = item.evidence
            source = evidence_dir / row.local_path
            inside = zip_path(item)
            state = "ok"
            if not source.is_file():
                state = "falta la copia"
                missing.append(row.local_path)
            else:
                if sha256_of(source) != row.sha256:
                    state = "sha256 distinto"
                    altered.append(row.local_path)
                archive.write(source, inside)
                written += 1
            writer.writerow([item.unit_clave, item.period, item.indicator_id,
                             _neutral(item.indicator), inside if state != "falta la copia"
                             else "", _neutral(row.file_name), row.kind, row.mime_type,
                             row.size, row.sha256, row.received_at.isoformat(),
                             _neutral(item.sent_by), row.file_id, state])
        archive.writestr(MANIFEST_NAME, "\ufeff" + manifest.getvalue())
    return ZipResult(written, tuple(missing), tuple(altered))


def _neutral(text: str) -> str:
    """A text cell a spreadsheet must not run as a formula (as the CSV export does)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
