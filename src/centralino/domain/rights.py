"""Group rights (SPEC 2.7) and delegated administration (SPEC 2.8)."""

from __future__ import annotations

import enum
from typing import Any, Self

from pydantic import Field, model_validator

from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.values import GroupName

__all__ = ["Administration", "ExtensionsScope", "GroupRight", "Permissions", "Role"]


class Role(enum.StrEnum):
    USER = "user"
    MANAGER = "manager"


class Permissions(DomainModel):
    """What a member may see and do within one group."""

    see_members: bool = True
    see_calls: bool = False
    show_presence: bool = True
    show_calls: bool = False
    operate_calls: bool = False
    barge_in: bool = False
    intercom: bool = False
    park_calls: bool = True
    control_ivr: bool = False
    manage_phonebook: bool = False

    @classmethod
    def for_role(cls, role: Role) -> Permissions:
        """Return the usual permissions of a role."""
        if role is Role.MANAGER:
            return cls(
                see_calls=True,
                show_calls=True,
                operate_calls=True,
                barge_in=True,
                intercom=True,
                control_ivr=True,
                manage_phonebook=True,
            )
        return cls()


class GroupRight(DomainModel):
    """Membership of one group with a role and its permissions.

    Permissions left out take the role's usual value (a manager may operate
    members' calls, a user may not); the ones given win.
    """

    group: GroupName
    role: Role = Role.USER
    permissions: Permissions = Field(default_factory=Permissions)

    @model_validator(mode="before")
    @classmethod
    def _role_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            role = Role(data.get("role", Role.USER))
        except ValueError:
            return data  # the field validator reports the bad role
        given = data.get("permissions")
        if isinstance(given, Permissions) or (given is not None and not isinstance(given, dict)):
            return data
        defaults = Permissions.for_role(role).model_dump()
        return data | {"permissions": defaults | (given or {})}


class ExtensionsScope(enum.StrEnum):
    OWN = "own"
    GROUPS = "groups"
    ALL = "all"


class Administration(DomainModel):
    """Delegated access to the management console."""

    console_access: bool = False
    extensions_scope: ExtensionsScope = ExtensionsScope.OWN
    sip_trunks: bool = False
    system: bool = False
    call_reports: bool = False
    download_recordings: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.system and self.extensions_scope is not ExtensionsScope.ALL:
            # SPEC 2.8: system administration exposes every extension's data.
            raise FieldValueError("extensions_scope", "must be 'all' for a system administrator")
        if self.download_recordings and not self.call_reports:
            raise FieldValueError("download_recordings", "requires call_reports")
        return self
