"""stand-ins (suplentes) and the approval cycle (issue 12)

Revision ID: 0007_approval
Revises: 0006_fichas

* ``stand_ins``: who answers for whose units, from when to when (local dates, inclusive).
* ``reported_values.on_behalf_of_id`` and ``revisions.on_behalf_of_id``: a value entered by a
  stand-in records both people (``reported_by_id`` / ``person_id`` is the stand-in).
* ``unit_period_approvals`` (the state of each unit's period in the review cycle),
  ``approval_events`` (its log) and ``approval_comment_waits`` (a gerente writing the
  comment of a return).
* ``/resumen`` shows each unit's approval state, so ``unit_period_approvals`` bumps
  ``data_version`` (the summary cache) like the tables of 0003_perf.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0007_approval'
down_revision: str | None = '0006_fichas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"
TRACKED = "unit_period_approvals"


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'stand_ins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('stand_in_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('starts', sa.Date(), nullable=False),
        sa.Column('ends', sa.Date(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        _when('created_at'),
        _when('cancelled_at', nullable=True),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id']),
        sa.ForeignKeyConstraint(['stand_in_id'], ['persons.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['persons.id']),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['persons.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stand_ins_person_id', 'stand_ins', ['person_id'])
    op.create_index('ix_stand_ins_stand_in_id', 'stand_ins', ['stand_in_id'])
    # A plain ADD COLUMN (not batch mode: on SQLite that copies the table and loses the
    # data_version triggers of reported_values).
    for table in ('reported_values', 'revisions'):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} ADD COLUMN on_behalf_of_id INTEGER "
                       "REFERENCES persons (id)")
            continue
        op.add_column(table, sa.Column('on_behalf_of_id', sa.Integer(), nullable=True))
        op.create_foreign_key(f'fk_{table}_on_behalf_of_id', table, 'persons',
                              ['on_behalf_of_id'], ['id'])
    op.create_table(
        'unit_period_approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        _when('changed_at'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.ForeignKeyConstraint(['changed_by_id'], ['persons.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('unit_id', 'period', name='uq_approval_unit_period'),
    )
    op.create_table(
        'approval_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        _when('at'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_approval_events_period', 'approval_events', ['period'])
    op.create_table(
        'approval_comment_waits',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('approval_id', sa.Integer(), nullable=False),
        _when('started_at'),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id']),
        sa.ForeignKeyConstraint(['approval_id'], ['unit_period_approvals.id']),
        sa.PrimaryKeyConstraint('person_id'),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER data_version_{TRACKED}_{action.lower()} "
                       f"AFTER {action} ON {TRACKED} BEGIN {BUMP}; END")
    else:
        op.execute(f"CREATE TRIGGER data_version_{TRACKED} "
                   f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TRACKED} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS data_version_{TRACKED}_{action}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS data_version_{TRACKED} ON {TRACKED}")
    op.drop_table('approval_comment_waits')
    op.drop_index('ix_approval_events_period', table_name='approval_events')
    op.drop_table('approval_events')
    op.drop_table('unit_period_approvals')
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ('reported_values', 'revisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if not sqlite:
                batch_op.drop_constraint(f'fk_{table}_on_behalf_of_id', type_='foreignkey')
            batch_op.drop_column('on_behalf_of_id')
    if sqlite:  # batch mode copied reported_values: its 0003_perf triggers again
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS data_version_reported_values_{action.lower()}")
            op.execute(f"CREATE TRIGGER data_version_reported_values_{action.lower()} "
                       f"AFTER {action} ON reported_values BEGIN {BUMP}; END")
    op.drop_index('ix_stand_ins_stand_in_id', table_name='stand_ins')
    op.drop_index('ix_stand_ins_person_id', table_name='stand_ins')
    op.drop_table('stand_ins')
