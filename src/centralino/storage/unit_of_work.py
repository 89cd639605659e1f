"""The unit of work: every repository on one connection, in one transaction.

``async with factory() as uow: ...; await uow.commit()`` — leaving the block
without committing rolls everything back. After ``commit`` the unit of work may
go on with a new transaction, which must be committed in its turn.

When a committed transaction appended to the change feed, ``commit`` awaits
the factory's ``on_commit`` listeners: in ``centralino serve`` the process's
own follower applies the change before the use-case returns, so whoever made
it (an API client) reads its own write in the engine at once (a phone may
register the moment its extension is created). Other processes learn of it
by their poll or by PostgreSQL's NOTIFY.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from centralino.domain.imports import ExtensionImport
from centralino.domain.ports import (
    AccountRepository,
    AuditLog,
    CallRecordingRepository,
    CallRecordRepository,
    ChangeLog,
    ExtensionRepository,
    GroupRepository,
    OfficeHoursRepository,
    OutboundRuleRepository,
    SettingsRepository,
    TrunkRepository,
    VoicemailRepository,
)
from centralino.storage.call_records import SqlCallRecordRepository
from centralino.storage.changes import SqlChangeLog
from centralino.storage.database import Database
from centralino.storage.extension_import import SqlExtensionImport
from centralino.storage.repositories import (
    SqlAccountRepository,
    SqlAuditLog,
    SqlExtensionRepository,
    SqlGroupRepository,
    SqlOfficeHoursRepository,
    SqlSettingsRepository,
)
from centralino.storage.trunks import SqlOutboundRuleRepository, SqlTrunkRepository
from centralino.storage.voicemail_repository import (
    SqlCallRecordingRepository,
    SqlVoicemailRepository,
)

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """``UnitOfWork`` on one connection taken from the database's pool.

    Args:
        database: the database to connect to (on entering the block).
        node: this process's node name, recorded with each change.
        committed: called after a commit that appended to the change feed.
        clock: the current time of change records.
    """

    def __init__(
        self,
        database: Database,
        *,
        node: str = "",
        committed: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._connection = database.engine.connect()
        self._committed = committed
        self._announce = False
        self.extensions: ExtensionRepository = SqlExtensionRepository(self._connection)
        self.groups: GroupRepository = SqlGroupRepository(self._connection)
        self.office_hours: OfficeHoursRepository = SqlOfficeHoursRepository(self._connection)
        self.trunks: TrunkRepository = SqlTrunkRepository(self._connection)
        self.outbound_rules: OutboundRuleRepository = SqlOutboundRuleRepository(self._connection)
        self.settings: SettingsRepository = SqlSettingsRepository(self._connection)
        self.accounts: AccountRepository = SqlAccountRepository(self._connection)
        self.audit: AuditLog = SqlAuditLog(self._connection)
        self.voicemail: VoicemailRepository = SqlVoicemailRepository(self._connection)
        self.recordings: CallRecordingRepository = SqlCallRecordingRepository(self._connection)
        self.call_records: CallRecordRepository = SqlCallRecordRepository(self._connection)
        changes = SqlChangeLog(self._connection, node=node, clock=clock, appended=self._appended)
        self.changes: ChangeLog = changes
        self.imports: ExtensionImport = SqlExtensionImport(self._connection, changes)

    async def __aenter__(self) -> Self:
        await self._connection.start()
        return self

    async def commit(self) -> None:
        """Make every change since the last commit permanent."""
        await self._connection.commit()
        if self._announce:
            self._announce = False
            if self._committed is not None:
                await self._committed()

    async def rollback(self) -> None:
        """Undo every change since the last commit."""
        self._announce = False
        await self._connection.rollback()

    def _appended(self) -> None:
        self._announce = True

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
        node: this process's node name, recorded with each change.
    """

    def __init__(self, database: Database, *, node: str = "") -> None:
        self._database = database
        self._node = node
        self._listeners: list[Callable[[], Awaitable[None]]] = []

    def on_commit(self, listener: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """Await ``listener()`` after each commit that appended changes; return its remover.

        A listener must not raise: the change is committed whatever it does.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work (enter it with ``async with``)."""
        return SqlUnitOfWork(self._database, node=self._node, committed=self._notify)

    async def _notify(self) -> None:
        for listener in list(self._listeners):
            await listener()
