"""fichas técnicas: fichas, programmed_metas, indicators.short_name

Revision ID: 0005_fichas
Revises: 0004_team

Both new tables change what a summary shows (states, programmed metas), so they bump
``data_version`` like the tables of 0003_perf (same triggers, same functions).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0005_fichas'
down_revision: str | None = '0004_team'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = ("fichas", "programmed_metas")
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        'fichas',
        sa.Column('indicator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('sentido', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('acumulacion', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('linea_base_valor', storage.types.ExactDecimal(precision=18, scale=3),
                  nullable=True),
        sa.Column('linea_base_anio', sa.Integer(), nullable=True),
        sa.Column('medio_verificacion', sa.Text(), nullable=False),
        sa.Column('evidencia_obligatoria', sa.Boolean(), nullable=False),
        sa.Column('verde_min', storage.types.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column('amarillo_min', storage.types.ExactDecimal(precision=18, scale=3),
                  nullable=False),
        sa.Column('verde_max', storage.types.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column('amarillo_max', storage.types.ExactDecimal(precision=18, scale=3),
                  nullable=True),
        sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.ForeignKeyConstraint(['updated_by_id'], ['persons.id'], ),
        sa.PrimaryKeyConstraint('indicator_id'),
    )
    op.create_table(
        'programmed_metas',
        sa.Column('indicator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('meta', storage.types.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
        sa.PrimaryKeyConstraint('indicator_id', 'period'),
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name', sqlmodel.sql.sqltypes.AutoString(length=60),
                                      nullable=True))
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
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_column('short_name')
    op.drop_table('programmed_metas')  # its triggers go with it
    op.drop_table('fichas')
