"""Groups (departments): membership lives in each extension's rights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from centralino.api.dependencies import CurrentActor, Services, group_name, json_object
from centralino.api.schemas import Member, request_body
from centralino.domain.group import Group

__all__ = ["router"]

router = APIRouter(prefix="/groups", tags=["groups"])

Name = Annotated[str, Depends(group_name)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]


@router.get("", response_model=list[Group])
async def list_groups(services: Services) -> Sequence[Group]:
    """Return every group."""
    return await services.groups.all()


@router.post("", status_code=201, response_model=Group, openapi_extra=request_body("Group"))
async def create_group(body: JsonObject, actor: CurrentActor, services: Services) -> Group:
    """Create a group."""
    return await services.groups.create(actor, body)


@router.get("/{name}", response_model=Group)
async def get_group(name: Name, services: Services) -> Group:
    """Return one group."""
    return await services.groups.get(name)


@router.patch("/{name}", response_model=Group, openapi_extra=request_body("GroupPatch", patch=True))
async def patch_group(
    name: Name, body: JsonObject, actor: CurrentActor, services: Services
) -> Group:
    """Change a group's description (its name cannot change)."""
    return await services.groups.update(actor, name, body)


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_group(name: Name, actor: CurrentActor, services: Services) -> Response:
    """Delete a group that no extension belongs to (409 otherwise)."""
    await services.groups.delete(actor, name)
    return Response(status_code=204)


@router.get("/{name}/members", response_model=list[Member])
async def list_members(name: Name, services: Services) -> list[Member]:
    """Return the extensions in the group and their roles."""
    return [Member(**member) for member in await services.groups.members(name)]
