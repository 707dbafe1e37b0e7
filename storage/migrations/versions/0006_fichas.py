"""reprogramaciones: meta_changes (requests to change a programmed meta, and their decision)

Revision ID: 0006_fichas
Revises: 0005_fichas

The table is a log the summary does not read (an authorised change writes programmed_metas,
whose triggers already bump ``data_version``), so it has no data_version trigger.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0006_fichas'
down_revision: str | None = '0005_fichas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'meta_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('indicator_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('old_meta', storage.types.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column('new_meta', storage.types.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column('justification', sa.Text(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.ForeignKeyConstraint(['requested_by_id'], ['persons.id'], ),
        sa.ForeignKeyConstraint(['decided_by_id'], ['persons.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_meta_changes_indicator_id', 'meta_changes', ['indicator_id'])


def downgrade() -> None:
    op.drop_index('ix_meta_changes_indicator_id', table_name='meta_changes')
    op.drop_table('meta_changes')
