"""gerencias: several gerencias of one organismo, and their gerentes (issue 12)

Revision ID: 0009_gerencias
Revises: 0008_evidence

* ``gerencias`` (id, nombre unique): filled by ``import-poa`` from each report's header
  (``GERENCIA COMERCIAL``).
* ``units.gerencia_id``, ``persons.gerencia_id`` (a gerente's), ``invitations.gerencia_id``:
  nullable. Existing rows stay NULL: no report says which gerencia they are; the next import
  of their report fills the units, and while there is at most one gerencia a gerente without
  one sees every unit, exactly as before (``bot.services.scope``).
* The summary cache (0003_perf) follows ``gerencias`` too (the per-gerencia summary shows
  their names); ``units.gerencia_id`` is already covered by the units triggers.

On SQLite the columns are added with ``ALTER TABLE … ADD COLUMN … REFERENCES`` rather than a
batch copy of the table: a copy would drop the data-version triggers of units and persons.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009_gerencias'
down_revision: str | None = '0008_evidence'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"
COLUMNS = ("units", "persons", "invitations")


def upgrade() -> None:
    op.create_table(
        'gerencias',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nombre', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('nombre'),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in COLUMNS:
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN gerencia_id INTEGER "
                       "REFERENCES gerencias (id)")
        else:
            op.add_column(table, sa.Column('gerencia_id', sa.Integer(), nullable=True))
            op.create_foreign_key(f'fk_{table}_gerencia_id', table, 'gerencias',
                                  ['gerencia_id'], ['id'])
    op.create_index(op.f('ix_units_gerencia_id'), 'units', ['gerencia_id'], unique=False)
    if sqlite:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER data_version_gerencias_{action.lower()} "
                       f"AFTER {action} ON gerencias BEGIN {BUMP}; END")
    else:
        op.execute("CREATE TRIGGER data_version_gerencias "
                   "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON gerencias "
                   "FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS data_version_gerencias_{action}")
    else:
        op.execute("DROP TRIGGER IF EXISTS data_version_gerencias ON gerencias")
    op.drop_index(op.f('ix_units_gerencia_id'), table_name='units')
    for table in COLUMNS:
        if sqlite:  # a column with a foreign key: SQLite needs a copy of the table
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_column('gerencia_id')
        else:
            op.drop_constraint(f'fk_{table}_gerencia_id', table, type_='foreignkey')
            op.drop_column(table, 'gerencia_id')
    if sqlite:  # the copies lost the data-version triggers of 0003_perf and 0004_team
        for table in ("units", "persons"):
            for action in ("INSERT", "UPDATE", "DELETE"):
                of = " OF name, role, active, unreachable_since" if (
                    table == "persons" and action == "UPDATE") else ""
                op.execute(f"CREATE TRIGGER IF NOT EXISTS data_version_{table}_{action.lower()} "
                           f"AFTER {action}{of} ON {table} BEGIN {BUMP}; END")
    op.drop_table('gerencias')
