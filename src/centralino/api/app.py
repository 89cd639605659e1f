"""The REST API application: ``create_api(services)``.

Routes are thin (parse -> admin use-case -> serialize); every error is mapped
once, in ``centralino.api.errors``. The composition root mounts the result;
this package never touches storage or the call engine.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from centralino.admin.services import ManagementServices
from centralino.api.dependencies import current_actor
from centralino.api.errors import ERROR_RESPONSES, install_error_handlers
from centralino.api.routes import (
    audit,
    auth,
    call_records,
    extension_files,
    extensions,
    groups,
    nodes,
    office_hours,
    outbound_rules,
    recordings,
    routing,
    settings,
    trunks,
    voicemail,
)
from centralino.api.routes_calls import router as calls_router
from centralino.api.routes_live import router as live_router
from centralino.api.schemas import add_request_schemas
from centralino.api.security_headers import SecurityHeaders

__all__ = ["API_PREFIX", "OPENAPI_URL", "CentralinoApi", "create_api"]

API_PREFIX = "/api/v1"
OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"

# Order matters: /extensions/export and /extensions/import before /extensions/{number}.
_PROTECTED = (
    extension_files.router,
    voicemail.router,
    extensions.router,
    routing.router,
    groups.router,
    office_hours.router,
    trunks.router,
    outbound_rules.router,
    settings.router,
    audit.router,
    recordings.router,
    call_records.router,
    live_router,
    calls_router,
    nodes.router,
)


class CentralinoApi(FastAPI):
    """FastAPI whose OpenAPI document also describes the JSON request bodies."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document (built once)."""
        if self.openapi_schema is None:
            add_request_schemas(super().openapi())
        return super().openapi()


def _protected_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(current_actor)], responses=ERROR_RESPONSES)
    for child in _PROTECTED:
        router.include_router(child)
    return router


def create_api(services: ManagementServices) -> FastAPI:
    """Build the REST API over the management use-cases.

    Args:
        services: every management use-case, already wired to storage.

    Returns:
        An ASGI application serving ``/api/v1/...``, the OpenAPI document at
        ``/api/openapi.json`` and its interactive documentation at ``/api/docs``.
    """
    app = CentralinoApi(
        title="Centralino",
        summary="Manage the extensions of a Centralino IP PBX.",
        version="1",
        openapi_url=OPENAPI_URL,
        docs_url=DOCS_URL,
        redoc_url=None,
        separate_input_output_schemas=False,
    )
    app.state.services = services
    app.add_middleware(SecurityHeaders, docs_path=DOCS_URL)
    install_error_handlers(app)
    app.include_router(auth.router, prefix=API_PREFIX)
    app.include_router(_protected_router(), prefix=API_PREFIX)
    return app
