"""The tables. Storage knows rows and queries, nothing of Telegram.

Uniqueness constraints carry the idempotency the product promises: importing the same
report twice, or receiving the same Telegram update twice, cannot create a second row.

One file past 400 lines on purpose: the schema is read as a whole (foreign keys between
tables of every concern) and Alembic compares it as a whole with the migrations
(``tests/test_storage_types.py``); each table says which service owns it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import ExactDecimal, UTCDateTime

ROLE_GERENTE = "gerente"
ROLE_COORDINADOR = "coordinador"
ROLE_PLANEACION = "planeacion"  # planeación / dirección: every gerencia (issue 12)
AGGREGATE_SUM = "sum"  # counts: the year's values add up
AGGREGATE_LAST = "last"  # percentages: the latest value is the cumulative one


def _decimal(nullable: bool = False):
    return Field(sa_type=ExactDecimal, nullable=nullable)


def _when(nullable: bool = False):
    return Field(sa_type=UTCDateTime, nullable=nullable)


class Unit(SQLModel, table=True):
    """Unidad responsable (303 Facturación, ...)."""

    __tablename__ = "units"
    id: int | None = Field(default=None, primary_key=True)
    clave: str = Field(max_length=20, unique=True, index=True)
    nombre: str = Field(max_length=255)
    # The gerencia named in the header of the report that brought it (None: not known yet;
    # with a single gerencia or none, everything is that one: bot.services.scope).
    gerencia_id: int | None = Field(default=None, foreign_key="gerencias.id", index=True)


class ActionLine(SQLModel, table=True):
    """Línea de acción of the municipal development plan, with its plan headings."""

    __tablename__ = "action_lines"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True, index=True)
    objetivo: str = Field(default="", sa_type=Text)
    eje: str = Field(default="", max_length=500)
    sub_eje: str = Field(default="", max_length=500)
    programa: str = Field(default="", max_length=500)
    transversalidad: str = Field(default="", max_length=500)


class Indicator(SQLModel, table=True):
    """An indicador de desempeño of one unit's acción operativa, for one POA year."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("year", "unit_id", "accion", "nombre", name="uq_indicator_identity"),
        Index("ix_indicators_year_unit", "year", "unit_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    year: int
    unit_id: int = Field(foreign_key="units.id")
    action_line_id: int | None = Field(default=None, foreign_key="action_lines.id")
    accion: str = Field(sa_type=Text)
    comentarios: str = Field(default="", sa_type=Text)
    nombre: str = Field(sa_type=Text)
    descripcion: str = Field(default="", sa_type=Text)
    meta: Decimal = _decimal()  # target per period, as currently in force
    unidad_medida: str = Field(default="", max_length=120)
    frecuencia: str = Field(max_length=20)  # a bot.domain.periods.Frequency value
    aggregation: str = Field(default=AGGREGATE_SUM, max_length=10)
    position: int = 0  # order within the unit, as in the report
    # The name a phone shows (``nombre`` is the workbook's long capitalised one); None: derived.
    short_name: str | None = Field(default=None, max_length=60)


class ReportedValue(SQLModel, table=True):
    """The value of one indicator for one period (at most one: the current figure)."""

    __tablename__ = "reported_values"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period", name="uq_value_indicator_period"),
        Index("ix_values_year_end", "year", "period_end"),
    )
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), nullable=False))
    period: str = Field(max_length=10)  # Period.code: 2023-03, 2023-Q1, 2023-S1
    year: int
    period_start: date
    period_end: date
    value: Decimal = _decimal()
    meta: Decimal = _decimal()  # the meta this period was reported against
    observaciones: str = Field(default="", sa_type=Text)
    reported_by_id: int | None = Field(default=None, foreign_key="persons.id")
    reported_at: datetime = _when()
    source: str = Field(max_length=20)  # import | telegram | cli
    late: bool = False  # arrived after the deadline (timeliness figure)
    # Entered by a stand-in (reported_by_id) on behalf of this unit's coordinador (approval
    # branch, bot.services.stand_ins); None: entered by the person who answers for the unit.
    on_behalf_of_id: int | None = Field(default=None, foreign_key="persons.id")


class RemarkWithoutValue(SQLModel, table=True):
    """A remark (OBSERVACIONES) on a period whose value was left empty in an imported report.

    An empty value means "not reported", so it is never a ReportedValue row; the remark is
    kept here so the export prints it again. A ReportedValue of the same period wins.
    """

    __tablename__ = "remarks_without_value"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period", name="uq_remark_indicator_period"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), nullable=False))
    period: str = Field(max_length=10)  # Period.code
    observaciones: str = Field(sa_type=Text)
    source: str = Field(max_length=20)  # import
    updated_at: datetime = _when()


class Revision(SQLModel, table=True):
    """Append-only log of every change to a reported value."""

    __tablename__ = "revisions"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicators.id", index=True)
    period: str = Field(max_length=10)
    old_value: Decimal | None = _decimal(nullable=True)
    new_value: Decimal | None = _decimal(nullable=True)
    old_observaciones: str | None = Field(default=None, sa_type=Text)
    new_observaciones: str | None = Field(default=None, sa_type=Text)
    person_id: int | None = Field(default=None, foreign_key="persons.id")
    at: datetime = _when()
    reason: str = Field(default="", sa_type=Text)
    source: str = Field(max_length=20)
    on_behalf_of_id: int | None = Field(default=None, foreign_key="persons.id")  # stand-ins


class Person(SQLModel, table=True):
    """Someone registered with the bot: a gerente or a coordinador."""

    __tablename__ = "persons"
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, index=True, nullable=True))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    name: str = Field(default="", max_length=255)
    role: str = Field(max_length=20)
    active: bool = True
    unreachable_since: datetime | None = _when(nullable=True)  # blocked the bot (403)
    created_at: datetime = _when()
    # When the person last wrote or pressed something (kept to the hour: written at most
    # once an hour, see bot.services.team.touch); None: not since the column exists.
    last_seen_at: datetime | None = _when(nullable=True)
    # A gerente's gerencia (None: every unit while there is at most one gerencia).
    gerencia_id: int | None = Field(default=None, foreign_key="gerencias.id")


class PersonUnit(SQLModel, table=True):
    """A coordinador's units."""

    __tablename__ = "person_units"
    person_id: int = Field(foreign_key="persons.id", primary_key=True)
    unit_id: int = Field(foreign_key="units.id", primary_key=True)


class Invitation(SQLModel, table=True):
    """A single-use registration token; only its hash is stored."""

    __tablename__ = "invitations"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=20)
    unit_claves: str = Field(default="", max_length=255)  # comma-separated
    name: str = Field(default="", max_length=255)
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)
    used_by_id: int | None = Field(default=None, foreign_key="persons.id")
    created_by_id: int | None = Field(default=None, foreign_key="persons.id")
    gerencia_id: int | None = Field(default=None, foreign_key="gerencias.id")  # a gerente's


class PersonEvent(SQLModel, table=True):
    """Append-only log of changes to the team: who did what to whom, and when."""

    __tablename__ = "person_events"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when()
    actor_id: int | None = Field(default=None, foreign_key="persons.id")  # None: command line
    action: str = Field(max_length=20)  # deactivate | activate | assign | revoke
    person_id: int | None = Field(default=None, foreign_key="persons.id", index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitations.id")
    detail: str = Field(default="", sa_type=Text)


class ReminderLog(SQLModel, table=True):
    """Every reminder and escalation sent: the record that makes them never repeat."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("person_id", "period", "stage", name="uq_reminder_once"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id")
    period: str = Field(max_length=10)
    stage: str = Field(max_length=40)  # e.g. reminder-2023-04-03, escalation
    sent_at: datetime = _when()
    outcome: str = Field(default="sent", max_length=20)  # sent | unreachable


class PeriodLock(SQLModel, table=True):
    """A gerente's explicit opening or closing of a period, for all units ('*') or one."""

    __tablename__ = "period_locks"
    __table_args__ = (UniqueConstraint("period", "unit_clave", name="uq_lock_scope"),)
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=10)
    unit_clave: str = Field(default="*", max_length=20)
    closed: bool
    changed_by_id: int | None = Field(default=None, foreign_key="persons.id")
    changed_at: datetime = _when()


class LockEvent(SQLModel, table=True):
    """Append-only log of lock changes."""

    __tablename__ = "lock_events"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=10)
    unit_clave: str = Field(default="*", max_length=20)
    action: str = Field(max_length=10)  # close | reopen
    person_id: int | None = Field(default=None, foreign_key="persons.id")
    at: datetime = _when()


class Conversation(SQLModel, table=True):
    """Where a person is in a conversation, saved on every step so a restart loses nothing."""

    __tablename__ = "conversations"
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str = Field(default="{}", sa_type=Text)  # JSON
    updated_at: datetime = _when()


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled, so a re-delivered update is not applied twice."""

    __tablename__ = "processed_updates"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = _when()


class DataVersion(SQLModel, table=True):
    """One row whose ``version`` grows with every committed change the summaries read.

    Database triggers bump it (migration ``0003_menu_state``): on SQLite for each changed row
    of units, indicators, reported_values, persons and person_units; on PostgreSQL once per
    transaction, at commit (a statement trigger marks the transaction in
    :class:`DataVersionMark`, a deferred trigger on that mark bumps the version and removes
    the mark), so no transaction holds this row's lock while it waits for another one.
    Whatever writes (the bot, ``poa-bot import-poa`` in another process, raw SQL), a cached
    summary computed at version N is stale as soon as the version is no longer N.
    """

    __tablename__ = "data_version"
    id: int = Field(primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class DataVersionMark(SQLModel, table=True):
    """PostgreSQL only: a transaction that changed summary data and has not committed yet."""

    __tablename__ = "data_version_marks"
    txid: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class MenuState(SQLModel, table=True):
    """The Telegram command menu last set in a chat (so start-up sets only what changed)."""

    __tablename__ = "menu_state"
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    menu: str = Field(max_length=64)  # fingerprint of the commands set (handlers.menus)
    set_at: datetime = _when()


class Ficha(SQLModel, table=True):
    """An indicator's *ficha técnica*: one per indicator, so per POA year (bot/domain/fichas.py).

    No row means the defaults (today's implicit rules); a row holds every field explicitly.
    Semáforo thresholds are percent of the programmed meta; the ``*_max`` pair is set only for
    a two-sided (``regular``) semáforo.
    """

    __tablename__ = "fichas"
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), primary_key=True,
                                               autoincrement=False))
    sentido: str = Field(max_length=12)  # bot.domain.fichas.Sentido
    acumulacion: str = Field(max_length=10)  # bot.domain.fichas.Acumulacion
    linea_base_valor: Decimal | None = _decimal(nullable=True)
    linea_base_anio: int | None = None
    medio_verificacion: str = Field(default="", sa_type=Text)
    evidencia_obligatoria: bool = False
    verde_min: Decimal = _decimal()
    amarillo_min: Decimal = _decimal()
    verde_max: Decimal | None = _decimal(nullable=True)
    amarillo_max: Decimal | None = _decimal(nullable=True)
    updated_at: datetime = _when()
    updated_by_id: int | None = Field(default=None, foreign_key="persons.id")


class ProgrammedMeta(SQLModel, table=True):
    """A calendarised meta: the meta programmed for one of the indicator's periods.

    Periods without a row are programmed at ``Indicator.meta`` (the annual meta split evenly).
    """

    __tablename__ = "programmed_metas"
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), primary_key=True,
                                               autoincrement=False))
    period: str = Field(max_length=10, primary_key=True)  # Period.code
    meta: Decimal = _decimal()


class MetaChange(SQLModel, table=True):
    """A *reprogramación*: a request to change a programmed meta and its decision (the log).

    ``outcome`` is ``pending`` until a gerente decides: ``authorized`` (the ProgrammedMeta
    changed at ``decided_at``), ``rejected``, or ``void`` (the period closed meanwhile).
    """

    __tablename__ = "meta_changes"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicators.id", index=True)
    period: str = Field(max_length=10)  # Period.code
    old_meta: Decimal = _decimal()
    new_meta: Decimal = _decimal()
    justification: str = Field(sa_type=Text)
    requested_by_id: int = Field(foreign_key="persons.id")
    requested_at: datetime = _when()
    decided_by_id: int | None = Field(default=None, foreign_key="persons.id")
    decided_at: datetime | None = _when(nullable=True)
    outcome: str = Field(default="pending", max_length=12)


# --- stand-ins and the approval cycle (bot.services.stand_ins, bot.services.approval) ------

class StandIn(SQLModel, table=True):
    """A suplente: ``stand_in_id`` answers for ``person_id``'s units (or one of them) from
    ``starts`` to ``ends``, both local dates, inclusive. Ends by itself; cancelling sets
    ``cancelled_at`` (the row is kept as the record)."""

    __tablename__ = "stand_ins"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id", index=True)  # the absent coordinador
    stand_in_id: int = Field(foreign_key="persons.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="units.id")  # None: all their units
    starts: date
    ends: date
    created_by_id: int | None = Field(default=None, foreign_key="persons.id")  # None: CLI
    created_at: datetime = _when()
    cancelled_at: datetime | None = _when(nullable=True)
    cancelled_by_id: int | None = Field(default=None, foreign_key="persons.id")


class UnitPeriodApproval(SQLModel, table=True):
    """Where a unit's period is in the review cycle: capturando (no row, or reopened),
    enviado, aprobado, devuelto. One row per (unit, period): the latest state."""

    __tablename__ = "unit_period_approvals"
    __table_args__ = (UniqueConstraint("unit_id", "period", name="uq_approval_unit_period"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id")
    period: str = Field(max_length=10)  # Period.code
    state: str = Field(max_length=12)
    comment: str = Field(default="", sa_type=Text)  # the gerente's, when returned
    changed_by_id: int | None = Field(default=None, foreign_key="persons.id")
    changed_at: datetime = _when()


class ApprovalEvent(SQLModel, table=True):
    """Append-only log of the review cycle: send, approve, return, reopen."""

    __tablename__ = "approval_events"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id")
    period: str = Field(max_length=10, index=True)
    action: str = Field(max_length=10)
    comment: str = Field(default="", sa_type=Text)
    person_id: int | None = Field(default=None, foreign_key="persons.id")
    at: datetime = _when()


class ApprovalCommentWait(SQLModel, table=True):
    """A gerente pressed «Devolver»: their next text is the comment for this approval."""

    __tablename__ = "approval_comment_waits"
    person_id: int = Field(foreign_key="persons.id", primary_key=True)
    approval_id: int = Field(foreign_key="unit_period_approvals.id")
    started_at: datetime = _when()


class Evidence(SQLModel, table=True):
    """A *medio de verificación*: a photo or document sent for one indicator and period.

    Telegram's ``file_id`` lets the bot send it again without a copy; ``file_unique_id`` is the
    same for the same file whoever sends it, so a re-sent file is not stored twice. The copy on
    disk is at ``local_path``, relative to ``POA_EVIDENCE_DIR`` (bot/services/evidence.py).
    """

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period", "file_unique_id", name="uq_evidence_file"),
        Index("ix_evidence_period_indicator", "period", "indicator_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), nullable=False))
    period: str = Field(max_length=10)  # Period.code
    kind: str = Field(max_length=10)  # photo | document (how to send it again)
    file_id: str = Field(sa_type=Text)
    file_unique_id: str = Field(max_length=128)
    file_name: str = Field(max_length=255)
    mime_type: str = Field(default="", max_length=255)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    local_path: str = Field(sa_type=Text)
    person_id: int | None = Field(default=None, foreign_key="persons.id")
    received_at: datetime = _when()


class EvidenceInbox(SQLModel, table=True):
    """Where a chat's next photos and documents go: the indicator and period chosen with
    ``/evidencia`` (one row per chat, replaced by the next choice)."""

    __tablename__ = "evidence_inbox"
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    person_id: int = Field(foreign_key="persons.id")
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), nullable=False))
    period: str = Field(max_length=10)
    set_at: datetime = _when()


class Gerencia(SQLModel, table=True):
    """A gerencia of the organismo (GERENCIA COMERCIAL…), as named in a report's header."""

    __tablename__ = "gerencias"
    id: int | None = Field(default=None, primary_key=True)
    nombre: str = Field(max_length=255, unique=True)


class Justification(SQLModel, table=True):
    """A *justificación de la variación*: why a confirmed value left green and what will be
    done (bot/services/justification.py). Append-only: the latest row of an indicator and
    period is the one in force; earlier ones show what was said before a correction."""

    __tablename__ = "justifications"
    __table_args__ = (Index("ix_justifications_slot", "indicator_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(sa_column=Column(ForeignKey("indicators.id"), nullable=False))
    period: str = Field(max_length=10)  # Period.code
    text: str = Field(sa_type=Text)
    person_id: int | None = Field(default=None, foreign_key="persons.id")
    at: datetime = _when()
    # The state that asked for it: "periodo:behind acumulado:close" (bot.domain.attainment.Status)
    state: str = Field(max_length=60)
