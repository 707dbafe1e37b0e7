"""The SQLite file holds every figure and person: it is created readable by its owner only,
and so are its ``-wal`` and ``-shm`` companions."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from storage.db import Database


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path):
    path = tmp_path / "poa.db"
    saved = os.umask(0o022)  # the usual umask: files world-readable unless we say otherwise
    try:
        db = Database(f"sqlite:///{path}")
        db.migrate()
        with db.engine.connect() as conn:  # an open connection keeps -wal and -shm around
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.commit()
            files = [path, path.with_name("poa.db-wal"), path.with_name("poa.db-shm")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
        db.dispose()
    finally:
        os.umask(saved)
    assert modes == {"poa.db": 0o600, "poa.db-wal": 0o600, "poa.db-shm": 0o600}


def test_an_existing_database_keeps_its_permissions(tmp_path):
    path = tmp_path / "poa.db"
    first = Database(f"sqlite:///{path}")
    first.migrate()
    first.dispose()
    path.chmod(0o640)  # the operator chose group read (e.g. for a backup user)
    again = Database(f"sqlite:///{path}")
    again.migrate()
    again.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
