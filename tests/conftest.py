"""Shared fixtures.

Every test that needs a database gets a fresh, migrated one: a SQLite file by default, or a
new PostgreSQL database when ``POA_TEST_DATABASE_URL`` names a server (``.ci/run`` does).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import Database, normalize_url

# The real report lives in ../shared beside the repository (CI lays it there too).
SEED_TSV = Path(os.environ.get("POA_SEED_TSV") or Path(__file__).resolve().parents[2]
                / "shared" / "poa" / "poa-2023-t1-gerencia-comercial.tsv")
PG_ADMIN_URL = os.environ.get("POA_TEST_DATABASE_URL")


def _pg_admin_engine():
    return create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str | None]:
    """A migrated template database, cloned per test (much faster than migrating each)."""
    if not PG_ADMIN_URL:
        yield None
        return
    name = f"poa_template_{os.getpid()}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(PG_ADMIN_URL)).set(database=name).render_as_string(
        hide_password=False)
    template = Database(url)
    template.migrate()
    template.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path, _pg_template) -> Iterator[str]:
    """URL of a fresh, migrated, empty database."""
    if _pg_template is None:
        url = f"sqlite:///{tmp_path / 'poa.db'}"
        db = Database(url)
        db.migrate()
        db.dispose()
        yield url
        return
    name = f"poa_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    yield make_url(normalize_url(PG_ADMIN_URL)).set(database=name).render_as_string(
        hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def seed_tsv() -> Path:
    if not SEED_TSV.exists():  # a missing seed is a broken checkout, not a reason to skip
        pytest.fail(f"seed report not found at {SEED_TSV}; set POA_SEED_TSV")
    return SEED_TSV


@pytest.fixture
def cli(database_url, monkeypatch, tmp_path, capsys):
    """Run ``poa-bot ARGS`` on the test database; returns (exit code, stdout, stderr)."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POA_TIMEZONE", "America/Matamoros")

    def run(*args: str):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run
