"""Engine, sessions and migrations.

Design: the database is used through SQLAlchemy's synchronous engine, and the bot calls it
through :meth:`Database.run`, which executes the work in a small thread pool. The event
loop therefore never blocks on the database, the CLI and the bot share one code path, and
SQLite (whose driver is synchronous anyway; aiosqlite is itself a thread wrapper) and
PostgreSQL (psycopg 3) behave alike. Transactions are short (one user step each).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlmodel import Session, create_engine

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration (tests/test_schema_head.py checks it is Alembic's head). A database
# already there is left alone without importing Alembic, whose modules and scripts cost the
# bot's every start about 14 MB of resident memory.
SCHEMA_HEAD = "0010_flow"
SQLITE_BUSY_TIMEOUT_MS = 10_000


SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_FORMS = "sqlite:///poa.db o postgresql://usuario:contraseña@servidor/poa"
PRIVATE_FILE_MODE = 0o600  # the SQLite file holds everything: its owner only


class DatabaseUrlError(ValueError):
    """DATABASE_URL is not a URL of a database the bot can use (the message says why)."""


def normalize_url(url: str) -> str:
    """Accept ``postgresql://``/``postgres://`` and use psycopg 3; SQLite as given.

    Raises :class:`DatabaseUrlError` for anything else. Its message never repeats the URL,
    which may hold a password.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(f"DATABASE_URL no es una URL de base de datos; escribe, p. ej., "
                               f"{URL_FORMS}.") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseUrlError(f"DATABASE_URL usa «{parsed.get_backend_name()}», y POA Bot "
                               f"solo trabaja con SQLite o PostgreSQL: {URL_FORMS}.")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the bot read while another process (the CLI) writes; the busy timeout makes
    # a writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):
        return None  # a URI filename: SQLite interprets it
    return Path(parsed.database)


def _create_private(path: Path) -> None:
    """Create the database file for its owner only, before SQLite creates it with the
    umask's permissions (usually world-readable). SQLite gives the ``-wal`` and ``-shm``
    files the permissions of the database file, so they are private too."""
    if path.exists() or not path.parent.is_dir():
        return  # an existing file keeps its permissions; a missing folder is reported on open
    with contextlib.suppress(FileExistsError):  # another process created it first
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        path = sqlite_path(url)
        if path is not None:
            event.listen(engine, "do_connect", lambda *_args: _create_private(path))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5)
    _ping_when_idle(engine)
    return engine


# A connection handed out again within this many seconds worked moments ago, so it is not
# pinged. SQLAlchemy's pool_pre_ping pings on every checkout: a round trip and ~60 µs of CPU
# before each of a report message's two transactions. One idle longer is pinged, so a server
# restarted meanwhile is noticed before a person's step; a restart within the window fails
# one step («no guardé nada, intenta de nuevo») and SQLAlchemy then replaces the pool.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    def returned(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def handed_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            raise DisconnectionError from None  # the pool connects anew and hands that out

    event.listen(engine, "connect", returned)  # a new connection needs no ping either
    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", handed_out)


def describe_error(error: BaseException, url: str) -> str:
    """One line saying why the database at ``url`` cannot be used, and what to do."""
    shown = redact_url(url)
    path = sqlite_path(url)
    orig = error.orig if isinstance(error, DBAPIError) else error
    detail = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if path is not None:
        if not path.parent.is_dir():
            return (f"La carpeta {path.parent} de la base de datos ({shown}) no existe: créala "
                    "o corrige DATABASE_URL.")
        if "not a database" in detail or "malformed" in detail:
            return (f"El archivo {path} no es una base de datos SQLite válida (¿está dañado o es "
                    "de otro programa?): restaura una copia de seguridad o corrige DATABASE_URL.")
        if "unable to open" in detail or "readonly" in detail or "read-only" in detail:
            return (f"No se puede abrir ni escribir el archivo {path} ({detail}): revisa sus "
                    "permisos y los de su carpeta, o DATABASE_URL.")
    if isinstance(error, NoSuchModuleError):
        detail = "falta el controlador de esa base de datos"
    return (f"No se puede usar la base de datos {shown}: {detail}. Revisa DATABASE_URL (o "
            "ejecuta `poa-bot doctor`).")


class Database:
    """One database: its engine, a session factory, migrations and the thread pool."""

    def __init__(self, url: str, *, workers: int = 4):
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        # PostgreSQL answers a single read without BEGIN and COMMIT (see :meth:`read`).
        self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; run by every command)."""
        if self.schema_revision() == SCHEMA_HEAD:
            return  # nothing to do, and Alembic is not even imported
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        """The migration the database is at (None: none yet, or unreadable)."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")
                                          ).scalar()
        except DBAPIError:
            return None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction (synchronously)."""
        with self.session() as session:
            return fn(session, *args, **kwargs)

    def read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)``, which only reads, with one statement.

        On PostgreSQL it runs outside a transaction: one statement sees one snapshot anyway,
        and BEGIN and COMMIT are two round trips (the person look-up before every update is
        such a read). On SQLite it is :meth:`call`: there both are free, and switching the
        connection's isolation level would reset its statement cache."""
        if self.is_sqlite:
            return self.call(fn, *args, **kwargs)
        with Session(self._reads, expire_on_commit=False) as session:
            return fn(session, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction, off the event loop."""
        return await self._off_loop(self.call, fn, *args, **kwargs)

    async def run_read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """:meth:`read`, off the event loop."""
        return await self._off_loop(self.read, fn, *args, **kwargs)

    async def _off_loop(self, how: Callable[..., T], fn, *args, **kwargs) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(how, fn, *args, **kwargs))

    def dispose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.engine.dispose()
