"""menu state and data version (performance: remembered menus, summary cache invalidation)

Revision ID: 0003_perf
Revises: 0002_importer

* ``menu_state``: the command menu last set in each chat, so start-up sets only menus that
  changed (a new person, a role change, a new version's command list).
* ``data_version`` (one row) and its triggers: a number that grows with every committed
  change of what a summary reads (units, indicators, reported values, persons and their
  units), whoever writes it. Cached summaries are valid while it stays the same.
  SQLite: a row trigger per change (writers are serialised by SQLite anyway).
  PostgreSQL: a statement trigger marks the transaction in ``data_version_marks``; a
  deferred constraint trigger on the mark bumps the version at commit and deletes the
  mark. The version row is therefore locked only while committing, after every other lock
  of the transaction was taken (no deadlocks with concurrent writers), and once per
  transaction however many rows an import writes.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003_perf"
down_revision: str | None = "0002_importer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = ("units", "indicators", "reported_values", "persons", "person_units")
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "menu_state",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("menu", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("set_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "data_version_marks",
        sa.Column("txid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("txid"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        for table in TRACKED:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER data_version_{table}_{action.lower()} "
                           f"AFTER {action} ON {table} BEGIN {BUMP}; END")
        return
    op.execute("""
        CREATE FUNCTION poa_mark_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO data_version_marks (txid) VALUES (txid_current())
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$""")
    op.execute(f"""
        CREATE FUNCTION poa_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {BUMP};
            DELETE FROM data_version_marks WHERE txid = NEW.txid;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT ON data_version_marks
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION poa_bump_data_version()""")
    for table in TRACKED:
        op.execute(f"CREATE TRIGGER data_version_{table} "
                   f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION poa_mark_data_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TRACKED:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS data_version_{table}_{action}")
    else:
        for table in TRACKED:
            op.execute(f"DROP TRIGGER IF EXISTS data_version_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS data_version_{table}_update ON {table}")
        op.execute("DROP TRIGGER IF EXISTS data_version_bump ON data_version_marks")
        op.execute("DROP FUNCTION IF EXISTS poa_bump_data_version()")
        op.execute("DROP FUNCTION IF EXISTS poa_mark_data_change()")
    op.drop_table("data_version_marks")
    op.drop_table("data_version")
    op.drop_table("menu_state")
