"""Recording changes in the audit trail, with secrets masked."""

from __future__ import annotations

from typing import Any

from centralino.admin.context import Actor
from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.ports import AuditLog, AuditQuery, Clock, Page, UnitOfWorkFactory

__all__ = ["AuditService", "mask_secrets", "record"]

_SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("auth_password",),
    ("voicemail", "pin"),
    ("smtp", "password"),
    ("password_hash",),
    ("registration", "password"),
)
"""Where secrets sit in the JSON form of extensions, settings, accounts and trunks."""
MASK = "********"


def _masked(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head, *rest = path
    if document.get(head) is None:
        return document
    value = _masked(document[head], tuple(rest)) if rest else MASK
    if isinstance(document[head], dict) or not rest:
        return document | {head: value}
    return document


def mask_secrets(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a copy of a JSON document with its secret values masked."""
    if document is None:
        return None
    for path in _SECRET_PATHS:
        document = _masked(document, path)
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
