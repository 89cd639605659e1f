"""Office hours: named weekly schedules; ``global`` always exists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from centralino.api.dependencies import CurrentActor, Services, json_object, schedule_name
from centralino.api.schemas import request_body
from centralino.domain.office_hours import OfficeHours

__all__ = ["router"]

router = APIRouter(prefix="/office-hours", tags=["office hours"])

Name = Annotated[str, Depends(schedule_name)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]


@router.get("", response_model=list[OfficeHours])
async def list_office_hours(services: Services) -> Sequence[OfficeHours]:
    """Return every schedule, the global one first."""
    return await services.office_hours.all()


@router.get("/{name}", response_model=OfficeHours)
async def get_office_hours(name: Name, services: Services) -> OfficeHours:
    """Return one schedule."""
    return await services.office_hours.get(name)


@router.put(
    "/{name}",
    response_model=OfficeHours,
    openapi_extra=request_body("OfficeHours", description="'name' defaults to the URL's."),
)
async def put_office_hours(
    name: str, body: JsonObject, actor: CurrentActor, services: Services
) -> OfficeHours:
    """Create or replace a schedule."""
    return await services.office_hours.put(actor, name, body)


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_office_hours(name: Name, actor: CurrentActor, services: Services) -> Response:
    """Delete a schedule that no extension uses (never the global one)."""
    await services.office_hours.delete(actor, name)
    return Response(status_code=204)
