"""Logging in (OAuth2 password flow) and the health check: the open routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from centralino.api.dependencies import Services, storable_text_problem
from centralino.api.errors import ERROR_RESPONSES
from centralino.api.schemas import Health, Token
from centralino.domain.errors import Unauthorized

__all__ = ["router"]

router = APIRouter(tags=["auth"])
_MAX_CREDENTIAL = 1024


@router.post(
    "/auth/token",
    response_model=Token,
    responses={code: ERROR_RESPONSES[code] for code in (401, 422)},
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: Services
) -> Token:
    """Exchange a user name and password for a bearer token."""
    for value in (form.username, form.password):
        if len(value) > _MAX_CREDENTIAL or storable_text_problem(value):
            raise Unauthorized("wrong user name or password")
    token = await services.accounts.login(form.username, form.password)
    return Token(access_token=token)


@router.get("/health", response_model=Health, tags=["health"])
async def health() -> Health:
    """Tell that the service is up (no token needed)."""
    return Health()
