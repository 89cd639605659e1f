"""Who is acting: every use-case receives the actor, for permissions and audit."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.domain.account import AccountRole

__all__ = ["SYSTEM_ACTOR", "Actor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """An authenticated account (or the system itself, for automatic changes)."""

    username: str
    role: AccountRole


SYSTEM_ACTOR = Actor(username="system", role=AccountRole.OWNER)
