"""An extension's presence status, and the routing explainer.

``GET``/``PUT /extensions/{number}/status`` read and set the status (SPEC
§2.3); ``POST /extensions/{number}/routing/simulate`` answers "what happens
if this caller calls now / at that moment?" with the plan the routing
engine would follow, its trace and a plain-text explanation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from centralino.admin.routing import SimulationRequest
from centralino.admin.status import StatusView
from centralino.api.dependencies import CurrentActor, Services, extension_number, json_object
from centralino.api.schemas import request_body
from centralino.domain.errors import InvalidInput
from centralino.domain.forwarding import Status

__all__ = ["router"]

router = APIRouter(prefix="/extensions", tags=["routing"])

Number = Annotated[str, Depends(extension_number)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]

_STATUS_BODY = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": [status.value for status in Status]}},
    "required": ["status"],
    "additionalProperties": False,
}


def _status_document(view: StatusView) -> dict[str, Any]:
    return {
        "number": view.number,
        "status": view.status.value,
        "name": view.name,
        "auto_switch_by_office_hours": view.auto_switch_by_office_hours,
    }


@router.get("/{number}/status")
async def get_status(number: Number, services: Services) -> dict[str, Any]:
    """The extension's presence status (and whether office hours switch it)."""
    return _status_document(await services.status.get(number))


@router.put("/{number}/status", openapi_extra=request_body(_STATUS_BODY))
async def put_status(
    number: Number, body: JsonObject, actor: CurrentActor, services: Services
) -> dict[str, Any]:
    """Set the presence status; a ``StatusChanged`` event follows."""
    unknown = sorted(set(body) - {"status"})
    if unknown:
        raise InvalidInput.single(unknown[0], "unknown field")
    if "status" not in body:
        raise InvalidInput.single("status", "is required")
    return _status_document(await services.status.set(actor, number, body["status"]))


@router.post(
    "/{number}/routing/simulate",
    openapi_extra=request_body(
        SimulationRequest.model_json_schema(),
        description="The caller, and optionally the moment, the DID and a registration override.",
    ),
)
async def simulate(number: Number, body: JsonObject, services: Services) -> dict[str, Any]:
    """Explain how a call from ``caller`` to the extension would be routed."""
    simulation = await services.routing.simulate_document(number, body)
    return simulation.document()
