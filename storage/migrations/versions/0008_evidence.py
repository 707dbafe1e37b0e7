"""evidence (medios de verificación) and evidence_inbox

Revision ID: 0008_evidence
Revises: 0007_approval

Evidence changes what a summary shows (an indicator whose ficha makes evidence mandatory
stays pending until it has some), so ``evidence`` bumps ``data_version`` like the tables of
0003_perf and 0005_fichas (same triggers, same function). ``evidence_inbox`` is chat state.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0008_evidence'
down_revision: str | None = '0007_approval'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = ("evidence",)
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        'evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('indicator_id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('file_id', sa.Text(), nullable=False),
        sa.Column('file_unique_id', sqlmodel.sql.sqltypes.AutoString(length=128),
                  nullable=False),
        sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('mime_type', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('local_path', sa.Text(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('indicator_id', 'period', 'file_unique_id',
                            name='uq_evidence_file'),
    )
    op.create_index('ix_evidence_period_indicator', 'evidence', ['period', 'indicator_id'])
    op.create_table(
        'evidence_inbox',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('indicator_id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('set_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
        sa.PrimaryKeyConstraint('chat_id'),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in TRACKED:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER data_version_{table}_{action.lower()} "
                           f"AFTER {action} ON {table} BEGIN {BUMP}; END")
        return
    for table in TRACKED:
        op.execute(f"CREATE TRIGGER data_version_{table} "
                   f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")


def downgrade() -> None:
    op.drop_table('evidence_inbox')
    op.drop_index('ix_evidence_period_indicator', table_name='evidence')
    op.drop_table('evidence')  # its triggers go with it
