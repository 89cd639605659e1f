"""The SQLite database and its WAL files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from centralino.storage import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_and_wal_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}")
        await database.migrate()
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT count(*) FROM extensions"))
            names = sorted(os.listdir(tmp_path))
            assert names == ["centralino.db", "centralino.db-shm", "centralino.db-wal"]
            assert {name: _mode(tmp_path / name) for name in names} == dict.fromkeys(names, 0o600)
        await database.dispose()
    finally:
        os.umask(previous)


async def test_an_existing_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "centralino.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.dispose()
    assert _mode(path) == 0o600
