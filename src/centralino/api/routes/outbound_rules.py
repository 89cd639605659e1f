"""Outbound rules: which trunks carry a dialled number, tried by priority then name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import TypeAdapter, ValidationError

from centralino.api.dependencies import CurrentActor, Services, json_object
from centralino.api.schemas import request_body
from centralino.domain.errors import NotFound
from centralino.domain.trunks import OutboundRule, TrunkName

__all__ = ["router", "rule_name"]

router = APIRouter(prefix="/outbound-rules", tags=["outbound rules"])

_NAME = TypeAdapter[str](TrunkName)


def rule_name(name: Annotated[str, Path(examples=["national"])]) -> str:
    """The ``{name}`` path parameter of a rule; a malformed one is simply not found."""
    try:
        valid = _NAME.validate_python(name) == name
    except ValidationError:
        valid = False
    if not valid:
        raise NotFound("outbound_rule", name)
    return name


Name = Annotated[str, Depends(rule_name)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]


@router.get("", response_model=list[OutboundRule])
async def list_rules(actor: CurrentActor, services: Services) -> Sequence[OutboundRule]:
    """Return every rule in the order they are tried: priority, then name."""
    return await services.outbound_rules.all(actor)


@router.post(
    "", status_code=201, response_model=OutboundRule, openapi_extra=request_body("OutboundRule")
)
async def create_rule(body: JsonObject, actor: CurrentActor, services: Services) -> OutboundRule:
    """Create a rule (its trunks, callers and groups must exist)."""
    return await services.outbound_rules.create(actor, body)


@router.get("/{name}", response_model=OutboundRule)
async def get_rule(name: Name, actor: CurrentActor, services: Services) -> OutboundRule:
    """Return one rule."""
    return await services.outbound_rules.get(actor, name)


@router.patch(
    "/{name}",
    response_model=OutboundRule,
    openapi_extra=request_body("OutboundRulePatch", patch=True),
)
async def patch_rule(
    name: Name, body: JsonObject, actor: CurrentActor, services: Services
) -> OutboundRule:
    """Merge-patch a rule (its name cannot change)."""
    return await services.outbound_rules.update(actor, name, body)


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_rule(name: Name, actor: CurrentActor, services: Services) -> Response:
    """Delete a rule."""
    await services.outbound_rules.delete(actor, name)
    return Response(status_code=204)
