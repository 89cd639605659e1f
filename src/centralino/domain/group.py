"""Groups (departments) that extensions belong to with a role."""

from __future__ import annotations

from centralino.domain.model import DomainModel
from centralino.domain.values import Description, GroupName

__all__ = ["Group"]


class Group(DomainModel):
    """A department; membership and roles live in each extension's rights."""

    name: GroupName
    description: Description = ""
