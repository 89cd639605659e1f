"""The database: one async engine built from a URL, and its migrations.

SQLite (the default, a file in the data directory) and PostgreSQL run the same
code; only the connection set-up differs. Each SQLite connection is put in WAL
mode (readers never wait for the writer), with foreign keys enforced and a busy
timeout so that a second writer waits instead of failing at once. The SQLite
file and its ``-wal`` and ``-shm`` companions are readable by the owner only
(mode 0600): they hold the SIP passwords.

Migrations are Alembic's, applied to head by ``Database.migrate()`` at start;
no ``alembic.ini`` is needed, the configuration is built here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from centralino.storage.documents import serialize_json
from centralino.storage.secrets import SecretBox

__all__ = ["DATABASE_FILE", "MIGRATIONS_DIRECTORY", "Database", "alembic_config", "sqlite_url"]

DATABASE_FILE = "centralino.db"
"""The SQLite database's file name inside the data directory."""

MIGRATIONS_DIRECTORY = Path(__file__).parent / "migrations"
"""Alembic's script location, shipped inside the package."""

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long an SQLite writer waits for another writer's transaction to end."""

FILE_MODE = 0o600
"""The mode of the SQLite database and its WAL files: the owner only."""

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)


def sqlite_url(data_dir: Path) -> str:
    """Return the default database URL: an SQLite file in ``data_dir``.

    Args:
        data_dir: the directory holding Centralino's data.

    Returns:
        A ``sqlite+aiosqlite:///`` URL of ``data_dir/centralino.db``.
    """
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE_FILE).absolute()}"


def _protect_sqlite_files(path: str | None) -> None:
    """Create the database file 0600 (SQLite gives its WAL files the same mode)."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return  # SQLite reports the missing directory when it connects
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, FILE_MODE)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


class Database:
    """An async SQLAlchemy engine for SQLite or PostgreSQL, chosen by URL.

    Args:
        url: ``sqlite+aiosqlite:///path/to/file.db`` or
            ``postgresql+asyncpg://user:password@host:port/name``.
        echo: log every SQL statement (for debugging).
        secrets: seals the secret values of every JSON document written and
            opens them on reading (``storage.secrets``); none: stored in clear.
    """

    def __init__(self, url: str, *, echo: bool = False, secrets: SecretBox | None = None) -> None:
        self._url = make_url(url)
        self._engine = create_async_engine(
            self._url,
            echo=echo,
            json_serializer=secrets.dumps if secrets else serialize_json,
            json_deserializer=secrets.loads if secrets else None,
        )
        if self.is_sqlite:
            _protect_sqlite_files(self._url.database)
            event.listen(self._engine.sync_engine, "connect", _set_sqlite_pragmas)

    @classmethod
    def in_directory(cls, data_dir: Path) -> Database:
        """Open the default SQLite database in ``data_dir``, creating the directory.

        Args:
            data_dir: the directory holding Centralino's data.

        Returns:
            A database on ``data_dir/centralino.db`` (not yet migrated).
        """
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(sqlite_url(data_dir))

    @property
    def engine(self) -> AsyncEngine:
        """The async engine every unit of work connects through."""
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        """Whether this is an SQLite database."""
        return self._url.get_backend_name() == "sqlite"

    def __repr__(self) -> str:
        return f"Database({self._url.render_as_string(hide_password=True)!r})"

    async def migrate(self) -> None:
        """Apply every Alembic migration up to head, in one transaction.

        On SQLite, foreign keys are switched off while tables are rebuilt (batch
        mode copies and drops tables, which must not cascade) and checked again
        before commit, as SQLite's documentation prescribes for schema changes.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: when a migration fails; nothing is applied.
        """
        async with self._engine.connect() as connection:
            if self.is_sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                # pysqlite opens transactions only before DML: begin explicitly so
                # that the DDL below commits or rolls back as a whole.
                await connection.exec_driver_sql("BEGIN")
            await connection.run_sync(_upgrade_to_head)
            if self.is_sqlite:
                await _check_foreign_keys(connection)
            await connection.commit()
            if self.is_sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")

    async def dispose(self) -> None:
        """Close every pooled connection; the database may not be used afterwards."""
        await self._engine.dispose()


async def _check_foreign_keys(connection: AsyncConnection) -> None:
    result = await connection.exec_driver_sql("PRAGMA foreign_key_check")
    broken = result.fetchall()
    if broken:
        raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")


def alembic_config(connection: Connection | None = None) -> Config:
    """Build Alembic's configuration in code, for the packaged migrations.

    Args:
        connection: a synchronous connection for ``env.py`` to migrate through.

    Returns:
        A configuration whose script location is the package's migrations folder.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
