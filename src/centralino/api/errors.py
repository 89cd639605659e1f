"""One error mapping for the REST API: every failure is ``{"detail": [...]}``.

Each item names the field (a dotted path such as ``voicemail.pin``), the
reason, and the CSV row when the input came from an imported file. Domain
errors map to HTTP statuses here and nowhere else (DESIGN 5.4: translate
exceptions at the boundary).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from centralino.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    TryLater,
    Unauthorized,
)

__all__ = [
    "ERROR_RESPONSES",
    "LOGIN_RESPONSES",
    "ErrorBody",
    "ErrorItem",
    "install_error_handlers",
]

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class ErrorItem(BaseModel):
    """One problem: where (a dotted field path), why, and the CSV row if any."""

    path: str
    reason: str
    row: int | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    detail: list[ErrorItem]


def _described(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("No valid bearer token"),
    403: _described("The account may not do this"),
    404: _described("No such resource"),
    409: _described("A unique value is already taken"),
    422: _described("A field is invalid; nothing was changed"),
}
"""The error answers every protected route may give, for the OpenAPI document."""

LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: _described("Too many failed logins: retry after Retry-After seconds"),
    503: _described("Too many password checks waiting: retry after Retry-After seconds"),
}
"""The answers only logging in gives (throttle and back-pressure)."""


def _answer(status: int, items: Sequence[ErrorItem], headers: Any = None) -> JSONResponse:
    body = ErrorBody(detail=list(items)).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def _item(error: FieldError) -> ErrorItem:
    return ErrorItem(path=error.path, reason=error.reason, row=error.row)


def _dotted(location: Sequence[Any], kind: str) -> str:
    parts = list(location)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    if kind == "json_invalid":
        return "(body)"  # pydantic puts the character offset where a field would be
    return ".".join(str(part) for part in parts) or "(body)"


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return _answer(422, [_item(error) for error in exc.errors])


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [
        ErrorItem(
            path=_dotted(error.get("loc", ()), str(error.get("type", ""))),
            reason=str(error.get("msg", "invalid")),
        )
        for error in exc.errors()
    ]
    return _answer(422, items or [ErrorItem(path="(body)", reason="invalid request")])


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return _answer(404, [ErrorItem(path=exc.resource, reason=str(exc))])


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Conflict)
    return _answer(409, [ErrorItem(path=exc.path, reason=exc.reason, row=exc.row)])


async def _unauthorized(_request: Request, exc: Exception) -> JSONResponse:
    item = ErrorItem(path="authorization", reason=str(exc) or "not authenticated")
    return _answer(401, [item], BEARER_CHALLENGE)


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return _answer(403, [ErrorItem(path="(request)", reason=str(exc) or "forbidden")])


async def _try_later(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TryLater)
    status = 429 if isinstance(exc, TooManyAttempts) else 503
    item = ErrorItem(path="(request)", reason=str(exc))
    return _answer(status, [item], {"Retry-After": str(exc.retry_after)})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == HTTPStatus.BAD_REQUEST:
        # Starlette's "malformed body" (e.g. a multipart form without a boundary):
        # the same answer as any other body that cannot be read.
        return _answer(422, [ErrorItem(path="(body)", reason=reason)])
    return _answer(exc.status_code, [ErrorItem(path="(request)", reason=reason)], exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every domain and request error to its HTTP status and error body."""
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(TryLater, _try_later)
    app.add_exception_handler(StarletteHTTPException, _http_error)
