"""Extensions: create, list, read, replace, merge-patch, patch one tab, delete.

Bodies follow SPEC section 5: general fields at the top level, each tab
nested under its name. Validation is the admin layer's; routes only move
documents in and models out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from centralino.api.dependencies import (
    CurrentActor,
    Services,
    extension_number,
    json_document,
    json_object,
)
from centralino.api.schemas import ExtensionPage, RegenerateRequest, listed, request_body
from centralino.domain.extension import TABS, Extension
from centralino.domain.ports import ExtensionQuery, ExtensionSort

__all__ = ["router"]

router = APIRouter(prefix="/extensions", tags=["extensions"])

Number = Annotated[str, Depends(extension_number)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]
_TAB_BODY = {
    "description": "The tab's settings: an object, or an array for devices, blf_keys, rights.",
    "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
}


@router.post(
    "",
    status_code=201,
    response_model=Extension,
    openapi_extra=request_body("ExtensionSpec", description="Omitted secrets are generated."),
)
async def create_extension(body: JsonObject, actor: CurrentActor, services: Services) -> Extension:
    """Create an extension; omitted SIP credentials and PIN are generated."""
    return await services.extensions.create(actor, body)


@router.get("", response_model=ExtensionPage)
async def list_extensions(
    services: Services,
    search: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")] = None,
    sort: ExtensionSort = ExtensionSort.NUMBER,
    order: Literal["asc", "desc"] = "asc",
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ExtensionPage:
    """Return a page of extensions, without secrets.

    ``search`` matches number, names, email, mobile.
    """
    query = ExtensionQuery(
        search=search or None,
        sort=sort,
        descending=order == "desc",
        offset=offset,
        limit=limit,
    )
    page = await services.extensions.search(query)
    items = [listed(extension) for extension in page.items]
    return ExtensionPage(items=items, total=page.total, offset=offset, limit=limit)


@router.get("/{number}", response_model=Extension)
async def get_extension(number: Number, services: Services) -> Extension:
    """Return one extension with every tab."""
    return await services.extensions.get(number)


@router.put(
    "/{number}",
    response_model=Extension,
    openapi_extra=request_body("ExtensionSpec", description="Omitted secrets keep their value."),
)
async def replace_extension(
    number: Number, body: JsonObject, actor: CurrentActor, services: Services
) -> Extension:
    """Replace every setting; omitted secrets keep their stored value."""
    return await services.extensions.replace(actor, number, body)


@router.patch(
    "/{number}",
    response_model=Extension,
    openapi_extra=request_body("ExtensionPatch", patch=True),
)
async def patch_extension(
    number: Number, body: JsonObject, actor: CurrentActor, services: Services
) -> Extension:
    """Change some settings (RFC 7396 merge patch: ``null`` resets a field)."""
    return await services.extensions.patch(actor, number, body)


@router.delete("/{number}", status_code=204, response_class=Response)
async def delete_extension(number: Number, actor: CurrentActor, services: Services) -> Response:
    """Delete an extension."""
    await services.extensions.delete(actor, number)
    return Response(status_code=204)


@router.post("/{number}/credentials/regenerate", response_model=Extension)
async def regenerate_credentials(
    number: Number,
    actor: CurrentActor,
    services: Services,
    auth_id: Annotated[bool, Query(description="Also generate a new auth ID.")] = False,
    body: RegenerateRequest | None = None,
) -> Extension:
    """Give the extension a new SIP password (and auth ID when asked)."""
    new_id = auth_id or (body is not None and body.auth_id)
    return await services.extensions.regenerate_credentials(actor, number, auth_id=new_id)


@router.patch(
    "/{number}/{tab}",
    response_model=Extension,
    openapi_extra=request_body(_TAB_BODY, patch=True),
)
async def patch_tab(
    number: Number,
    tab: Annotated[str, Path(json_schema_extra={"enum": list(TABS)})],
    body: Annotated[Any, Depends(json_document)],
    actor: CurrentActor,
    services: Services,
) -> Extension:
    """Change one tab (merge patch; list tabs take a whole JSON array)."""
    return await services.extensions.patch_tab(actor, number, tab, body)
