"""Response models and the OpenAPI description of request bodies.

Request bodies are read as JSON documents and validated by the admin layer
(which reports precise field paths), so FastAPI cannot infer their schemas.
``request_body`` declares them for each route, and ``add_request_schemas``
puts the domain models they name into the document's components.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from centralino.domain.audit import AuditEntry
from centralino.domain.extension import Extension, ExtensionSpec
from centralino.domain.group import Group
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk

__all__ = [
    "AuditPage",
    "ExtensionPage",
    "Health",
    "ImportResult",
    "Member",
    "RegenerateRequest",
    "Token",
    "add_request_schemas",
    "csv_body",
    "listed",
    "request_body",
]

_REF = "#/components/schemas/{model}"
_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ExtensionSpec,
    Group,
    OfficeHours,
    SystemSettings,
    Trunk,
    OutboundRule,
)
_PARTIALS = {
    "ExtensionPatch": ExtensionSpec,
    "GroupPatch": Group,
    "SystemSettingsPatch": SystemSettings,
    "TrunkPatch": Trunk,
    "OutboundRulePatch": OutboundRule,
}
MERGE_PATCH = "application/merge-patch+json"


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"


class SipHealth(BaseModel):
    """Counters of this node's SIP server (overload control, issue 10)."""

    received: int
    """Messages received (datagrams and framed stream messages)."""
    retransmissions_absorbed: int
    """Retransmitted requests answered by their transaction without a full parse."""
    rejected_overload: int
    """New requests answered 503 (with Retry-After) because the queue was late."""
    bad_requests: int
    """Malformed requests answered 400 (or 505) statelessly."""
    dropped: int
    """Datagrams dropped unread: the intake queue was full."""
    transactions: int
    """SIP transactions alive now."""
    queue_delay: float
    """Seconds the last message processed waited in the intake queue."""
    queue_delay_max: float
    """The longest wait seen, seconds."""


class Health(BaseModel):
    """The service is up; with a call engine in this process, its SIP counters."""

    status: Literal["ok"] = "ok"
    sip: SipHealth | None = None


class ExtensionPage(BaseModel):
    """One page of extensions, without their secrets.

    ``auth_password`` and ``voicemail.pin`` are null in a list: a listing is
    read often, by many, and cached more easily; ``GET /extensions/{number}``
    (a phone's provisioning, an administrator's form) returns them.
    """

    items: list[ExtensionSpec]
    total: int
    offset: int
    limit: int


def listed(extension: Extension) -> ExtensionSpec:
    """``extension`` as a list shows it: ``auth_password`` and ``voicemail.pin`` null."""
    fields = {name: getattr(extension, name) for name in ExtensionSpec.model_fields}
    voicemail = extension.voicemail.model_copy(update={"pin": None})
    return ExtensionSpec.model_construct(
        **(fields | {"auth_password": None, "voicemail": voicemail})
    )


class AuditPage(BaseModel):
    """One page of the audit trail, newest first."""

    items: list[AuditEntry]
    total: int
    offset: int
    limit: int


class Member(BaseModel):
    """An extension in a group, with its role there."""

    number: str
    role: str


class ImportResult(BaseModel):
    """What a CSV import created."""

    created: int
    numbers: list[str]


class RegenerateRequest(BaseModel):
    """Options of a credential regeneration."""

    auth_id: bool = False
    """Also give the extension a new authentication ID."""


def request_body(
    schema: str | dict[str, Any], *, patch: bool = False, description: str = ""
) -> dict[str, Any]:
    """The ``openapi_extra`` declaring a JSON request body.

    Args:
        schema: a component name, or an inline JSON schema.
        patch: also accept ``application/merge-patch+json`` (RFC 7396).
        description: shown in the documentation.
    """
    inline = {"$ref": _REF.format(model=schema)} if isinstance(schema, str) else schema
    media = [MERGE_PATCH, "application/json"] if patch else ["application/json"]
    content = {name: {"schema": inline} for name in media}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def csv_body() -> dict[str, Any]:
    """The ``openapi_extra`` of the CSV import: raw text or a multipart upload."""
    upload = {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    }
    content = {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": upload},
    }
    return {"requestBody": {"required": True, "content": content}}


def _partial(name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """Every field optional; ``null`` resets a field to its default."""
    return {
        "type": "object",
        "title": name,
        "description": f"An RFC 7396 merge patch of {definition.get('title', name)}.",
        "properties": copy.deepcopy(definition.get("properties", {})),
        "additionalProperties": False,
    }


def add_request_schemas(document: dict[str, Any], models: Sequence[type[BaseModel]] = ()) -> None:
    """Put the request models and their merge-patch forms into ``document``'s components."""
    chosen = [*_REQUEST_MODELS, *models]
    _, schemas = models_json_schema([(model, "validation") for model in chosen], ref_template=_REF)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schemas.get("$defs", {}).items():
        components.setdefault(name, definition)
    for name, model in _PARTIALS.items():
        components[name] = _partial(name, components[model.__name__])
