"""Groups (departments) that extensions belong to with a role."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from centralino.domain.model import DomainModel
from centralino.domain.values import GroupName

__all__ = ["Group"]


class Group(DomainModel):
    """A department; membership and roles live in each extension's rights."""

    name: GroupName
    description: Annotated[str, StringConstraints(max_length=200)] = ""
