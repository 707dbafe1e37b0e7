"""team log: person_events, and persons.last_seen_at

Revision ID: 0004_team
Revises: 0003_perf
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0004_team'
down_revision: str | None = '0003_perf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('person_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['persons.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_events_person_id'), ['person_id'],
                              unique=False)
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
    _persons_update_trigger(SUMMARY_COLUMNS)


# The summary cache (0003_perf) is invalidated by any change to persons; last_seen_at is
# written as people use the bot and means nothing to a summary, so only updates of the
# columns a summary shows count.
SUMMARY_COLUMNS = "name, role, active, unreachable_since"
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"


def _persons_update_trigger(columns: str | None) -> None:
    of = f" OF {columns}" if columns else ""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS data_version_persons_update")
        op.execute(f"CREATE TRIGGER data_version_persons_update AFTER UPDATE{of} ON persons "
                   f"BEGIN {BUMP}; END")
        return
    op.execute("DROP TRIGGER IF EXISTS data_version_persons ON persons")
    op.execute("DROP TRIGGER IF EXISTS data_version_persons_update ON persons")
    op.execute("CREATE TRIGGER data_version_persons AFTER INSERT OR DELETE OR TRUNCATE "
               "ON persons FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")
    op.execute(f"CREATE TRIGGER data_version_persons_update AFTER UPDATE{of} ON persons "
               "FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    _persons_update_trigger(None)
    with op.batch_alter_table('person_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_events_person_id'))
    op.drop_table('person_events')
