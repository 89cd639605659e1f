"""The audit trail: who changed what, when, and the state before and after."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from centralino.domain.model import DomainModel

__all__ = ["AuditAction", "AuditEntry"]


class AuditAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    IMPORT = "import"
    REGENERATE_CREDENTIALS = "regenerate_credentials"
    CHANGE_PASSWORD = "change_password"
    BLOCK = "block"
    UNBLOCK = "unblock"


class AuditEntry(DomainModel):
    """One recorded change. ``before``/``after`` are the resource's JSON form."""

    id: int | None = None
    at: dt.datetime
    actor: str
    action: AuditAction
    resource: str
    resource_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
