"""What one extension change costs in SQL statements (real storage, SQLite).

Issue 9, point 6: a forwarding-tab PATCH costs a handful of statements; the
unique keys are looked up and rewritten only when they change, and only
names new to the extension (groups, schedules, referenced extensions) are
looked up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.domain.errors import Conflict, InvalidInput
from centralino.storage import Database, SqlUnitOfWorkFactory

FORWARDING_PATCH_STATEMENTS = 5
"""Read the extension, read its stored keys, update it, audit entry, change record."""


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    opened = Database(f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}")
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
async def services(database: Database) -> ManagementServices:
    built = ManagementServices.build(SqlUnitOfWorkFactory(database), _Clock(), b"s" * 32)
    for number in ("101", "102", "103"):
        await built.extensions.create(SYSTEM_ACTOR, {"number": number})
    return built


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _touching(seen: list[str], table: str) -> list[str]:
    return [statement for statement in seen if table in statement]


async def test_a_forwarding_patch_costs_a_handful_of_statements(
    services: ManagementServices, database: Database
) -> None:
    with statements(database) as seen:
        await services.extensions.patch_tab(SYSTEM_ACTOR, "101", "forwarding", {"status": "dnd"})
    assert len(seen) <= FORWARDING_PATCH_STATEMENTS, "\n".join(seen)
    assert not [s for s in seen if s.startswith(("DELETE", "INSERT INTO extension_keys"))]
    assert not _touching(seen, "FROM settings") + _touching(seen, "FROM groups")
    stored = await services.extensions.get("101")
    assert stored.forwarding.status.value == "dnd"


async def test_a_new_reference_is_looked_up_and_an_unknown_one_refused(
    services: ManagementServices, database: Database
) -> None:
    busy = {"type": "extension", "number": "102"}
    body = {"profiles": {"available": {"internal": {"busy": busy}}}}
    with statements(database) as seen:
        await services.extensions.patch_tab(SYSTEM_ACTOR, "101", "forwarding", body)
    assert len(_touching(seen, "SELECT extensions.number")) == 1
    assert len(seen) <= FORWARDING_PATCH_STATEMENTS + 1

    body["profiles"]["available"]["internal"]["busy"] = busy | {"number": "199"}
    with pytest.raises(InvalidInput, match="no extension 199"):
        await services.extensions.patch_tab(SYSTEM_ACTOR, "101", "forwarding", body)


async def test_changed_unique_values_are_checked_and_rewritten(
    services: ManagementServices, database: Database
) -> None:
    with statements(database) as seen:
        await services.extensions.patch(SYSTEM_ACTOR, "101", {"dids": ["0612345600"]})
    assert _touching(seen, "DELETE FROM extension_keys")
    assert _touching(seen, "INSERT INTO extension_keys")
    taken = await services.extensions.get("102")
    with pytest.raises(Conflict, match="already used by extension 101"):
        await services.extensions.patch(SYSTEM_ACTOR, "103", {"dids": ["0612345600"]})
    with pytest.raises(Conflict, match="already used by extension 102"):
        await services.extensions.patch(SYSTEM_ACTOR, "103", {"auth_id": taken.auth_id})
