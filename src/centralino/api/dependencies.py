"""Request plumbing shared by the routes: services, the actor, JSON bodies.

Bodies are read here as plain JSON documents and handed to the admin
use-cases, which own validation and report precise field paths. This module
only refuses what no use-case should ever see: a wrong media type, a body too
large or too deeply nested, and text that no database can store (NUL
characters, unpaired surrogates).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import TypeAdapter, ValidationError

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.errors import FieldError, InvalidInput, NotFound, Unauthorized
from centralino.domain.office_hours import ScheduleName
from centralino.domain.values import ExtensionNumber, GroupName

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "TOKEN_URL",
    "CurrentActor",
    "Services",
    "current_actor",
    "extension_number",
    "group_name",
    "json_document",
    "json_object",
    "read_body",
    "schedule_name",
    "services_of",
    "storable_text_problem",
]

TOKEN_URL = "/api/v1/auth/token"
MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 32
_JSON_MEDIA = ("application/json", "application/merge-patch+json")

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def services_of(request: Request) -> ManagementServices:
    """Return the management services the API was created with."""
    return cast(ManagementServices, request.app.state.services)


Services = Annotated[ManagementServices, Depends(services_of)]


async def current_actor(
    services: Services, token: Annotated[str | None, Depends(_bearer)]
) -> Actor:
    """Return who holds the request's bearer token.

    Raises:
        Unauthorized: no token, or a bad, expired or orphaned one.
    """
    if not token:
        raise Unauthorized("a bearer token is required")
    return await services.accounts.actor_for_token(token)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower case ('' if none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, refusing more than ``limit`` bytes (413)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InvalidInput.single("(body)", "must be UTF-8 text") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidInput.single("(body)", f"not valid JSON: {exc}") from exc


def storable_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL, an unpaired surrogate), or None."""
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain unpaired surrogates"
    return None


def _problems(document: Any) -> list[FieldError]:
    """Walk the document without recursion: depth, keys and strings."""
    problems: list[FieldError] = []
    pending: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while pending and len(problems) < 10:
        path, node = pending.pop()
        where = ".".join(path) or "(body)"
        if len(path) > MAX_JSON_DEPTH:
            problems.append(FieldError(path=where, reason="nested too deeply"))
        elif isinstance(node, str) and (reason := storable_text_problem(node)):
            problems.append(FieldError(path=where, reason=reason))
        elif isinstance(node, dict):
            for key, value in node.items():
                if reason := storable_text_problem(key):
                    problems.append(FieldError(path=where, reason=f"a key {reason}"))
                pending.append(((*path, key), value))
        elif isinstance(node, list):
            pending.extend(((*path, str(index)), value) for index, value in enumerate(node))
    return problems


async def json_document(request: Request) -> Any:
    """The request body as a JSON document (any JSON value).

    Raises:
        HTTPException: 415 for a media type other than JSON, 413 when too large.
        InvalidInput: the body is not UTF-8 JSON, or holds unstorable text.
    """
    media = media_type(request)
    if media and media not in _JSON_MEDIA and not media.endswith("+json"):
        raise HTTPException(415, "the body must be application/json")
    raw = await read_body(request, MAX_JSON_BYTES)
    if not raw.strip():
        raise InvalidInput.single("(body)", "a JSON body is required")
    document = _decode(raw)
    problems = _problems(document)
    if problems:
        raise InvalidInput(problems)
    return document


JsonDocument = Annotated[Any, Depends(json_document)]


async def json_object(document: JsonDocument) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    if not isinstance(document, dict):
        raise InvalidInput.single("(body)", "must be a JSON object")
    return document


def _valid(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        return adapter.validate_python(value) == value
    except ValidationError:
        return False


_NUMBER = TypeAdapter[str](ExtensionNumber)
_GROUP = TypeAdapter[str](GroupName)
_SCHEDULE = TypeAdapter[str](ScheduleName)


def extension_number(number: Annotated[str, Path(examples=["101"])]) -> str:
    """The ``{number}`` path parameter; a malformed one is simply not found."""
    if not _valid(_NUMBER, number):
        raise NotFound("extension", number)
    return number


def group_name(name: Annotated[str, Path(examples=["Sales"])]) -> str:
    """The ``{name}`` path parameter of a group; a malformed one is not found."""
    if not _valid(_GROUP, name):
        raise NotFound("group", name)
    return name


def schedule_name(name: Annotated[str, Path(examples=["global"])]) -> str:
    """The ``{name}`` path parameter of office hours; a malformed one is not found."""
    if not _valid(_SCHEDULE, name):
        raise NotFound("office_hours", name)
    return name
