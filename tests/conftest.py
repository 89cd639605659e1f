"""Fixtures shared by the whole test suite.

Databases
    ``postgres_server`` (session) starts a real PostgreSQL 15 in a temporary
    directory, as /work/shared/PEERS.md describes, and stops it at the end.
    ``database_url`` is parametrized over ``sqlite`` (a file in ``tmp_path``)
    and ``postgresql`` (a fresh, empty database per test; marked ``postgres``).
    ``database`` is a migrated ``centralino.storage.Database`` on that URL.
    ``unit_of_work`` is a ``SqlUnitOfWorkFactory`` on that database.

Without PostgreSQL binaries the ``postgresql`` cases are skipped, unless the
environment variable ``CI`` is ``true``: then they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from centralino.storage import Database, SqlUnitOfWorkFactory

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "postgres"

# Durability is pointless for a throw-away test cluster, and costs seconds.
_POSTGRES_TEST_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresServer:
    """A running test PostgreSQL server reachable on 127.0.0.1."""

    port: int
    socket_dir: Path

    def url(self, database: str) -> str:
        """Return the asyncpg URL of ``database`` on this server."""
        return f"postgresql+asyncpg://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """Create a new empty database and return its name."""
        name = f"t_{uuid.uuid4().hex}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def psql(self, sql: str) -> None:
        """Run one SQL command as the superuser, on the ``postgres`` database."""
        command = [str(POSTGRES_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", str(self.socket_dir), "-p", str(self.port), "-U", POSTGRES_USER]
        subprocess.run([*command, "-d", "postgres", "-c", sql], check=True, capture_output=True)


def _as_postgres(*command: str) -> list[str]:
    """initdb and pg_ctl refuse root: run them as the postgres user when root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", POSTGRES_USER, "--", *command]
    return list(command)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _require_postgres_binaries() -> None:
    if (POSTGRES_BIN / "initdb").exists():
        return
    reason = f"PostgreSQL 15 binaries not found in {POSTGRES_BIN}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _run_or_fail(command: list[str], log: Path | None = None) -> None:
    """Run a server command; on failure, fail with its output and the server log."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        server_log = log.read_text(errors="replace") if log and log.exists() else ""
        pytest.fail(f"{command[-1]} failed:\n{done.stdout}{done.stderr}{server_log}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server for the whole session, in a temporary directory."""
    _require_postgres_binaries()
    # A short path: the Unix socket's full name must fit in 107 bytes.
    directory = Path(tempfile.mkdtemp(prefix="centralino-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, user=POSTGRES_USER, group=POSTGRES_USER)
    data, log, port = directory / "db", directory / "log", _free_port()
    pg_ctl = [str(POSTGRES_BIN / "pg_ctl"), "-D", str(data)]
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 {_POSTGRES_TEST_OPTIONS}"
    try:
        _run_or_fail(
            _as_postgres(
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                POSTGRES_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        )
        _run_or_fail(_as_postgres(*pg_ctl, "-o", options, "-l", str(log), "-w", "start"), log)
        yield PostgresServer(port=port, socket_dir=directory)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres(*pg_ctl, "-m", "fast", "-w", "stop"), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's URL: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(server.create_database())


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on ``database_url``, disposed after the test."""
    opened = Database(database_url)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
def unit_of_work(database: Database) -> SqlUnitOfWorkFactory:
    """A unit-of-work factory on the test's migrated ``database``."""
    return SqlUnitOfWorkFactory(database)
