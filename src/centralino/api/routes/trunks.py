"""SIP trunks: the provider accounts calls to and from the outside world use.

The registration password is write-only: requests may set it, answers show
``registration.password_set`` instead (a PATCH that does not mention it keeps
it). ``GET /trunks/{name}/status`` is the call engine's view of the trunk
(``known`` false when this process runs no engine or it has not loaded it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from centralino.admin.trunks import TrunkStatusReport, trunk_document
from centralino.api.dependencies import CurrentActor, Services, json_object
from centralino.api.schemas import request_body
from centralino.domain.errors import NotFound
from centralino.domain.trunks import Trunk, TrunkName

__all__ = ["TrunkRegistrationView", "TrunkView", "router", "trunk_name"]

router = APIRouter(prefix="/trunks", tags=["trunks"])

_NAME = TypeAdapter[str](TrunkName)


def trunk_name(name: Annotated[str, Path(examples=["voip"])]) -> str:
    """The ``{name}`` path parameter of a trunk; a malformed one is simply not found."""
    try:
        valid = _NAME.validate_python(name) == name
    except ValidationError:
        valid = False
    if not valid:
        raise NotFound("trunk", name)
    return name


class TrunkRegistrationView(BaseModel):
    """A trunk's registration as answers show it: never the password itself."""

    enabled: bool
    username: str | None
    auth_user: str | None
    expires: int
    password_set: bool
    """A password is stored (set it with ``registration.password``)."""


_TRUNK_FIELDS: dict[str, Any] = {
    name: (field.annotation, field)
    for name, field in Trunk.model_fields.items()
    if name != "registration"
}

TrunkView: type[BaseModel] = create_model(
    "TrunkView",
    __doc__="A trunk as answers show it (the registration password left out).",
    registration=(TrunkRegistrationView, ...),
    **_TRUNK_FIELDS,
)


Name = Annotated[str, Depends(trunk_name)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]


@router.get("", response_model=list[TrunkView])
async def list_trunks(actor: CurrentActor, services: Services) -> list[dict[str, Any]]:
    """Return every trunk, by name."""
    return [trunk_document(trunk) for trunk in await services.trunks.all(actor)]


@router.post("", status_code=201, response_model=TrunkView, openapi_extra=request_body("Trunk"))
async def create_trunk(body: JsonObject, actor: CurrentActor, services: Services) -> dict[str, Any]:
    """Create a trunk (409 when the name exists or a DID belongs to another trunk)."""
    return trunk_document(await services.trunks.create(actor, body))


@router.get("/{name}", response_model=TrunkView)
async def get_trunk(name: Name, actor: CurrentActor, services: Services) -> dict[str, Any]:
    """Return one trunk."""
    return trunk_document(await services.trunks.get(actor, name))


@router.patch(
    "/{name}", response_model=TrunkView, openapi_extra=request_body("TrunkPatch", patch=True)
)
async def patch_trunk(
    name: Name, body: JsonObject, actor: CurrentActor, services: Services
) -> dict[str, Any]:
    """Merge-patch a trunk (its name cannot change; an absent password is kept)."""
    return trunk_document(await services.trunks.update(actor, name, body))


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_trunk(name: Name, actor: CurrentActor, services: Services) -> Response:
    """Delete a trunk that no outbound rule uses (409 naming the rules otherwise)."""
    await services.trunks.delete(actor, name)
    return Response(status_code=204)


@router.get("/{name}/status", response_model=TrunkStatusReport)
async def trunk_status(name: Name, actor: CurrentActor, services: Services) -> TrunkStatusReport:
    """Return the trunk's registration state, keep-alive health and calls in progress."""
    return await services.trunks.status(actor, name)
