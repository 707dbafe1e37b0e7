"""A throwaway PostgreSQL server that a test may stop and start (database outage tests).

The shared test server (``POA_TEST_DATABASE_URL``) must never be stopped, so the outage tests
get their own cluster: ``initdb`` in a temporary directory, a free port on 127.0.0.1, trust
authentication, ``fsync=off``. When the tests run as root (CI containers), the PostgreSQL
binaries run as the ``postgres`` OS user, as ``.ci/postgres.sh`` does.

Usage::

    server = PgServer.create()          # None: no PostgreSQL binaries (or, as root, no
                                        # 'postgres' account to run them as)
    url = server.new_database("poa")    # SQLAlchemy URL of a fresh, empty database
    server.stop(); server.start()       # the outage
    server.destroy()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

PG_USER = "postgres"


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    candidates = [Path(p) for p in found if (Path(p) / "initdb").exists()]
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer:
    """One private cluster; see the module docstring."""

    def __init__(self, bindir: Path, directory: Path, port: int, as_postgres: bool):
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.as_postgres = as_postgres
        self.running = False

    @classmethod
    def create(cls) -> PgServer | None:
        bindir = pg_bindir()
        if bindir is None:
            return None
        as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        try:
            user = pwd.getpwnam(PG_USER) if as_postgres else None
        except KeyError:  # root without a 'postgres' account: nobody to run the server as
            return None
        directory = Path(tempfile.mkdtemp(prefix="poa-fault-pg-"))
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
        server = cls(bindir, directory, free_port(), as_postgres)
        server._run("initdb", "-D", str(server.data), "-U", PG_USER, "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8")
        server.start()
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", PG_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}\n"
                               f"{result.stderr}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
                  "-w", "-o", options, "start")
        self.running = True

    def stop(self) -> None:
        """Stop now, ending every session (``-m fast``), as a crash or a restart would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
