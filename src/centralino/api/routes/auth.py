"""Logging in (OAuth2 password flow) and the health check: the open routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from centralino.api.dependencies import Services, storable_text_problem
from centralino.api.errors import ERROR_RESPONSES, LOGIN_RESPONSES
from centralino.api.schemas import Health, SipHealth, Token
from centralino.domain.errors import Unauthorized

__all__ = ["router"]

router = APIRouter(tags=["auth"])
_MAX_CREDENTIAL = 1024


@router.post(
    "/auth/token",
    response_model=Token,
    responses={**{code: ERROR_RESPONSES[code] for code in (401, 422)}, **LOGIN_RESPONSES},
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: Services, request: Request
) -> Token:
    """Exchange a user name and password for a bearer token.

    Failed attempts are throttled per account and per address: past five,
    each further attempt waits longer (429 with ``Retry-After``, even with
    the right password). 503 with ``Retry-After`` when too many password
    checks are already waiting.
    """
    for value in (form.username, form.password):
        if len(value) > _MAX_CREDENTIAL or storable_text_problem(value):
            raise Unauthorized("wrong user name or password")
    address = request.client.host if request.client is not None else ""
    token = await services.accounts.login(form.username, form.password, address)
    return Token(access_token=token)


@router.get("/health", response_model=Health, response_model_exclude_none=True, tags=["health"])
async def health(request: Request) -> Health:
    """Tell that the service is up (no token needed), with the SIP server's counters.

    ``sip`` is present when a call engine runs in this process: messages
    received, retransmissions absorbed, requests refused for overload (503),
    malformed requests answered, and the intake queue's delay (seconds).
    """
    counters = getattr(request.app.state, "sip_counters", None)
    return Health(sip=None if counters is None else SipHealth(**counters()))
