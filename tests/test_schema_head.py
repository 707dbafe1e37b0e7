"""``storage.db.SCHEMA_HEAD`` names Alembic's newest migration, and a database already at it
is left alone without importing Alembic (the bot's resident memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from storage.db import MIGRATIONS_DIR, SCHEMA_HEAD

ROOT = Path(__file__).resolve().parents[1]


def test_schema_head_is_alembics_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_an_up_to_date_database_is_not_migrated_again_nor_alembic_imported(db):
    assert db.schema_revision() == SCHEMA_HEAD  # the fixture's database is migrated
    script = ("import sys; from storage.db import Database; db = Database(sys.argv[1]); "
              "db.migrate(); print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, db.url], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"


def test_a_new_database_is_migrated_to_the_head(tmp_path):
    from storage.db import Database

    fresh = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert fresh.schema_revision() is None
        fresh.migrate()
        assert fresh.schema_revision() == SCHEMA_HEAD
    finally:
        fresh.dispose()
