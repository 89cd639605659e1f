"""The unit of work: every repository on one connection, in one transaction.

``async with factory() as uow: ...; await uow.commit()`` — leaving the block
without committing rolls everything back. After ``commit`` the unit of work may
go on with a new transaction, which must be committed in its turn.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from centralino.domain.ports import (
    AccountRepository,
    AuditLog,
    CallRecordingRepository,
    ExtensionRepository,
    GroupRepository,
    OfficeHoursRepository,
    SettingsRepository,
    VoicemailRepository,
)
from centralino.storage.database import Database
from centralino.storage.repositories import (
    SqlAccountRepository,
    SqlAuditLog,
    SqlExtensionRepository,
    SqlGroupRepository,
    SqlOfficeHoursRepository,
    SqlSettingsRepository,
)
from centralino.storage.voicemail_repository import (
    SqlCallRecordingRepository,
    SqlVoicemailRepository,
)

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """``UnitOfWork`` on one connection taken from the database's pool.

    Args:
        database: the database to connect to (on entering the block).
    """

    def __init__(self, database: Database) -> None:
        self._connection = database.engine.connect()
        self.extensions: ExtensionRepository = SqlExtensionRepository(self._connection)
        self.groups: GroupRepository = SqlGroupRepository(self._connection)
        self.office_hours: OfficeHoursRepository = SqlOfficeHoursRepository(self._connection)
        self.settings: SettingsRepository = SqlSettingsRepository(self._connection)
        self.accounts: AccountRepository = SqlAccountRepository(self._connection)
        self.audit: AuditLog = SqlAuditLog(self._connection)
        self.voicemail: VoicemailRepository = SqlVoicemailRepository(self._connection)
        self.recordings: CallRecordingRepository = SqlCallRecordingRepository(self._connection)

    async def __aenter__(self) -> Self:
        await self._connection.start()
        return self

    async def commit(self) -> None:
        """Make every change since the last commit permanent."""
        await self._connection.commit()

    async def rollback(self) -> None:
        """Undo every change since the last commit."""
        await self._connection.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._connection.rollback()
        finally:
            await self._connection.close()


class SqlUnitOfWorkFactory:
    """``UnitOfWorkFactory``: makes a new ``SqlUnitOfWork`` per call.

    Args:
        database: a migrated database.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work (enter it with ``async with``)."""
        return SqlUnitOfWork(self._database)
