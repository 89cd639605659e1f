"""Voicemail over REST: an extension's messages and greetings.

Messages: list (newest first), download (``audio/wav``), move to a folder,
delete. Greetings: upload (multipart ``file`` + ``name``, or a raw WAV body
with ``?name=``; any common WAV is converted to 8 kHz mono), list, download,
rename / choose (``PATCH``), delete. The use-cases are
``centralino.admin.voicemail``'s.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from centralino.admin.voicemail import MAX_GREETING_BYTES, GreetingInfo
from centralino.api.dependencies import (
    CurrentActor,
    Services,
    extension_number,
    json_object,
    media_type,
    storable_text_problem,
)
from centralino.api.schemas import request_body
from centralino.domain.errors import FieldError, InvalidInput, NotFound
from centralino.domain.voicemail import MessageFolder, VoicemailMessage

__all__ = ["WAV_RESPONSE", "GreetingOut", "MessageOut", "audio_response", "item_id", "router"]

router = APIRouter(prefix="/extensions/{number}/voicemail", tags=["voicemail"])

Number = Annotated[str, Depends(extension_number)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

WAV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An 8 kHz 16-bit mono WAV file",
        "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
    }
}
"""The ``responses`` of a route answering a WAV file."""


def item_id(value: str, resource: str) -> str:
    """A message, greeting or recording id from the path; a malformed one is not found."""
    if not _ID.fullmatch(value):
        raise NotFound(resource, value)
    return value


def audio_response(wav: bytes, filename: str) -> Response:
    """A WAV file answer, offered for download as ``filename``."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(wav, media_type="audio/wav", headers=headers)


class MessageOut(BaseModel):
    """A voicemail message; ``duration`` in seconds."""

    id: str
    caller: str
    caller_name: str | None
    received_at: dt.datetime
    duration: float
    folder: MessageFolder

    @classmethod
    def of(cls, message: VoicemailMessage) -> MessageOut:
        """The API form of a message."""
        return cls(
            id=message.id,
            caller=message.caller,
            caller_name=message.caller_name,
            received_at=message.received_at,
            duration=message.duration,
            folder=message.folder,
        )


class GreetingOut(BaseModel):
    """A greeting; ``duration`` in seconds, ``active`` when callers hear it."""

    id: str
    name: str
    duration: float
    active: bool

    @classmethod
    def of(cls, greeting: GreetingInfo) -> GreetingOut:
        """The API form of a greeting."""
        return cls(
            id=greeting.id, name=greeting.name, duration=greeting.duration, active=greeting.active
        )


_MESSAGE_PATCH = {
    "type": "object",
    "properties": {"folder": {"type": "string", "enum": [f.value for f in MessageFolder]}},
    "required": ["folder"],
    "additionalProperties": False,
}
_GREETING_PATCH = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 64},
        "active": {"type": "boolean"},
    },
    "additionalProperties": False,
}
_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string", "maxLength": 64},
                    },
                    "required": ["file"],
                }
            },
            "audio/wav": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/messages", response_model=list[MessageOut])
async def list_messages(number: Number, services: Services) -> list[MessageOut]:
    """The extension's voicemail messages, newest first."""
    return [MessageOut.of(m) for m in await services.voicemail.list_messages(number)]


@router.get("/messages/{message_id}/audio", response_class=Response, responses=WAV_RESPONSE)
async def message_audio(number: Number, message_id: str, services: Services) -> Response:
    """A message's audio (WAV)."""
    wav = await services.voicemail.message_wav(number, item_id(message_id, "message"))
    return audio_response(wav, f"message-{message_id}.wav")


@router.patch(
    "/messages/{message_id}",
    response_model=MessageOut,
    openapi_extra=request_body(_MESSAGE_PATCH, patch=True),
)
async def patch_message(
    number: Number, message_id: str, body: JsonObject, actor: CurrentActor, services: Services
) -> MessageOut:
    """Move a message to a folder: ``{"folder": "saved"}`` (or ``"new"``)."""
    folder = _folder(body)
    moved = await services.voicemail.move_message(
        actor, number, item_id(message_id, "message"), folder
    )
    return MessageOut.of(moved)


@router.delete("/messages/{message_id}", status_code=204, response_class=Response)
async def delete_message(
    number: Number, message_id: str, actor: CurrentActor, services: Services
) -> Response:
    """Delete a message and its audio."""
    await services.voicemail.remove_message(actor, number, item_id(message_id, "message"))
    return Response(status_code=204)


@router.get("/greetings", response_model=list[GreetingOut])
async def list_greetings(number: Number, services: Services) -> list[GreetingOut]:
    """The extension's greetings, with their duration and which one is active."""
    return [GreetingOut.of(g) for g in await services.voicemail.greetings(number)]


@router.post("/greetings", status_code=201, response_model=GreetingOut, openapi_extra=_UPLOAD)
async def upload_greeting(
    number: Number,
    request: Request,
    actor: CurrentActor,
    services: Services,
    name: Annotated[str | None, Query(max_length=64)] = None,
) -> GreetingOut:
    """Add a greeting from a WAV file (PCM 8-32 bit, A-law, mu-law; any rate and channels).

    The file is converted to 8 kHz mono; at most 10 MB and 5 minutes.
    """
    if media_type(request) == "multipart/form-data":
        data, form_name = await _uploaded(request)
        name = form_name if form_name is not None else name
    else:
        data = await _raw_body(request)
    if name is not None and (problem := storable_text_problem(name)):
        raise InvalidInput.single("name", problem)
    info = await services.voicemail.upload_greeting(actor, number, name, data)
    return GreetingOut.of(info)


@router.get("/greetings/{greeting_id}/audio", response_class=Response, responses=WAV_RESPONSE)
async def greeting_audio(number: Number, greeting_id: str, services: Services) -> Response:
    """A greeting's audio (WAV, 8 kHz mono)."""
    wav = await services.voicemail.greeting_wav(number, item_id(greeting_id, "greeting"))
    return audio_response(wav, f"greeting-{greeting_id}.wav")


@router.patch(
    "/greetings/{greeting_id}",
    response_model=GreetingOut,
    openapi_extra=request_body(_GREETING_PATCH, patch=True),
)
async def patch_greeting(
    number: Number, greeting_id: str, body: JsonObject, actor: CurrentActor, services: Services
) -> GreetingOut:
    """Rename a greeting and/or choose it: ``{"name": "Holidays", "active": true}``."""
    info = await services.voicemail.update_greeting(
        actor, number, item_id(greeting_id, "greeting"), body
    )
    return GreetingOut.of(info)


@router.delete("/greetings/{greeting_id}", status_code=204, response_class=Response)
async def delete_greeting(
    number: Number, greeting_id: str, actor: CurrentActor, services: Services
) -> Response:
    """Delete a greeting; deleting the active one leaves the default prompt."""
    await services.voicemail.delete_greeting(actor, number, item_id(greeting_id, "greeting"))
    return Response(status_code=204)


def _folder(body: dict[str, Any]) -> MessageFolder:
    errors = [
        FieldError(path=key, reason="unknown field; use 'folder'")
        for key in body
        if key != "folder"
    ]
    folder = body.get("folder")
    allowed = ", ".join(f"'{f.value}'" for f in MessageFolder)
    if not isinstance(folder, str) or folder not in {f.value for f in MessageFolder}:
        errors.append(FieldError(path="folder", reason=f"must be one of {allowed}"))
    if errors:
        raise InvalidInput(errors)
    return MessageFolder(str(folder))


async def _uploaded(request: Request) -> tuple[bytes, str | None]:
    """The multipart ``file`` (at most one byte more than allowed) and ``name``."""
    async with request.form(max_files=1, max_fields=10) as form:
        upload, name = form.get("file"), form.get("name")
        if isinstance(upload, UploadFile):
            data = await upload.read(MAX_GREETING_BYTES + 1)
        elif isinstance(upload, str):
            data = upload.encode("utf-8", "surrogatepass")
        else:
            raise InvalidInput.single("file", "a WAV file is required in the field 'file'")
    if name is not None and not isinstance(name, str):
        raise InvalidInput.single("name", "must be text, not a file")
    return data, name


async def _raw_body(request: Request) -> bytes:
    """The body, at most one byte more than allowed (the use-case refuses larger files)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_GREETING_BYTES:
            break
    return b"".join(chunks)[: MAX_GREETING_BYTES + 1]
