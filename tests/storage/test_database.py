"""The Database object: migrations, connection settings, persistence."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.tables import metadata
from tests.storage.builders import rich_extension


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    differences: list[Any] = compare_metadata(context, metadata)
    return differences


async def test_migrate_from_empty_twice_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.migrate()
        await database.migrate()
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            version = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalars().all() == ["0008"]
    finally:
        await database.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_migrations_create_exactly_the_declared_tables(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert differences == []


async def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path: Any) -> None:
    database = Database.in_directory(tmp_path / "data")
    try:
        await database.migrate()
        async with database.engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await database.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
    assert (tmp_path / "data" / "centralino.db").exists()


async def test_data_survives_dispose_and_reopen(database_url: str) -> None:
    extension = rich_extension()
    first = Database(database_url)
    await first.migrate()
    async with SqlUnitOfWorkFactory(first)() as uow:
        await uow.extensions.add(extension)
        await uow.commit()
    await first.dispose()

    second = Database(database_url)
    try:
        await second.migrate()
        async with SqlUnitOfWorkFactory(second)() as uow:
            assert await uow.extensions.get("101") == extension
    finally:
        await second.dispose()


def test_repr_hides_the_password() -> None:
    database = Database("postgresql+asyncpg://centralino:secret@db.example.com/pbx")
    assert "secret" not in repr(database)
