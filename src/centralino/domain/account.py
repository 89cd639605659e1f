"""Management accounts: who may log in to the console and the API."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import StringConstraints

from centralino.domain.model import DomainModel

__all__ = ["OWNER_USERNAME", "Account", "AccountRole"]

OWNER_USERNAME = "admin"
"""The system owner account created on first start."""


class AccountRole(enum.StrEnum):
    OWNER = "owner"
    ADMINISTRATOR = "administrator"


class Account(DomainModel):
    """A console/API login. The password is kept only as an argon2 hash."""

    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    password_hash: str
    role: AccountRole = AccountRole.ADMINISTRATOR
