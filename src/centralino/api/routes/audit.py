"""The audit trail: who changed what, when, before and after (SPEC 2.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from centralino.api.dependencies import Services
from centralino.api.schemas import AuditPage
from centralino.domain.ports import AuditQuery

__all__ = ["router"]

router = APIRouter(tags=["audit"])
_TEXT = r"^[^\x00-\x1f]*$"


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    services: Services,
    resource: Annotated[str | None, Query(max_length=64, pattern=_TEXT)] = None,
    resource_id: Annotated[str | None, Query(max_length=200, pattern=_TEXT)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Return audit entries, newest first, optionally for one resource."""
    query = AuditQuery(resource=resource, resource_id=resource_id, offset=offset, limit=limit)
    page = await services.audit.search(query)
    return AuditPage(items=list(page.items), total=page.total, offset=offset, limit=limit)
