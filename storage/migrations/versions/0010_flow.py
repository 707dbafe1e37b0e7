"""justifications: the justificación de la variación of a value that left green

Revision ID: 0010_flow
Revises: 0009_gerencias

/resumen does not show justifications, so no data_version trigger (see 0003/0004).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010_flow'
down_revision: str | None = '0009_gerencias'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'justifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('indicator_id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('justifications', schema=None) as batch_op:
        batch_op.create_index('ix_justifications_slot', ['indicator_id', 'period'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('justifications')
