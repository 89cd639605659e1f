"""Recording changes in the audit trail, with secrets masked."""

from __future__ import annotations

from typing import Any

from centralino.admin.context import Actor
from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.ports import AuditLog, AuditQuery, Clock, Page, UnitOfWorkFactory

__all__ = ["AuditService", "mask_secrets", "record"]

_SECRET_KEYS = frozenset({"auth_password", "pin", "password", "password_hash"})
MASK = "********"


def mask_secrets(document: Any) -> Any:
    """Return a copy of a JSON document with secret values replaced by a mask."""
    if isinstance(document, dict):
        return {
            key: (MASK if key in _SECRET_KEYS and value is not None else mask_secrets(value))
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [mask_secrets(item) for item in document]
    return document


async def record(
    log: AuditLog,
    clock: Clock,
    actor: Actor,
    action: AuditAction,
    resource: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one entry; ``before`` and ``after`` are masked here."""
    await log.append(
        AuditEntry(
            at=clock.now(),
            actor=actor.username,
            action=action,
            resource=resource,
            resource_id=resource_id,
            before=mask_secrets(before),
            after=mask_secrets(after),
        )
    )


class AuditService:
    """Read access to the audit trail."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units

    async def search(self, query: AuditQuery) -> Page[AuditEntry]:
        """Entries matching the query, newest first."""
        async with self._units() as uow:
            return await uow.audit.search(query)
