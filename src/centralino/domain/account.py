"""Management accounts: who may log in to the console and the API."""

from __future__ import annotations

import enum
from typing import Annotated

from centralino.domain.model import DomainModel
from centralino.domain.text import Matches

__all__ = ["OWNER_USERNAME", "Account", "AccountRole"]

OWNER_USERNAME = "admin"
"""The system owner account created on first start."""


class AccountRole(enum.StrEnum):
    OWNER = "owner"
    ADMINISTRATOR = "administrator"


class Account(DomainModel):
    """A console/API login. The password is kept only as an argon2 hash."""

    username: Annotated[
        str, Matches(r"[A-Za-z0-9._-]{1,64}", "1 to 64 letters, digits, '.', '_' or '-'")
    ]
    password_hash: str
    role: AccountRole = AccountRole.ADMINISTRATOR
