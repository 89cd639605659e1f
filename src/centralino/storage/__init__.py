"""Centralino storage: the domain ports on SQLAlchemy (SQLite or PostgreSQL).

Typical wiring::

    database = Database(url)            # or Database.in_directory(data_dir)
    await database.migrate()
    unit_of_work = SqlUnitOfWorkFactory(database)
    async with unit_of_work() as uow:
        ...
        await uow.commit()
    await database.dispose()
"""

from centralino.storage.audio_archive import FileAudioArchive
from centralino.storage.database import Database, sqlite_url
from centralino.storage.location_store import SqlLocationStore
from centralino.storage.nodes import SqlNodes
from centralino.storage.security import SqlBlockRecords
from centralino.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

__all__ = [
    "Database",
    "FileAudioArchive",
    "SqlBlockRecords",
    "SqlLocationStore",
    "SqlNodes",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "sqlite_url",
]
