"""Validation rules that need more than one extension to decide.

A model validates itself; these rules look at the rest of the system: the
numbering length, which groups, schedules and extensions exist. Each rule is a
small named class; the catalogue ``EXTENSION_RULES`` runs them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from centralino.domain.errors import FieldError
from centralino.domain.extension import Extension

__all__ = [
    "EXTENSION_RULES",
    "ExtensionRule",
    "GroupsExist",
    "NumberLength",
    "ReferencedExtensionsExist",
    "RuleContext",
    "SchedulesExist",
    "check_extension",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleContext:
    """What the rules know of the rest of the system."""

    extension_length: int
    groups: frozenset[str]
    schedules: frozenset[str]
    numbers: frozenset[str]
    """Extension numbers that exist (or are being created in the same batch)."""


class ExtensionRule(Protocol):
    def check(self, extension: Extension, context: RuleContext) -> Iterator[FieldError]: ...


class NumberLength:
    """Extension numbers have the length set in the numbering settings."""

    def check(self, extension: Extension, context: RuleContext) -> Iterator[FieldError]:
        if len(extension.number) != context.extension_length:
            reason = f"must have {context.extension_length} digits (numbering.extension_length)"
            yield FieldError(path="number", reason=reason)


class GroupsExist:
    """Rights name groups that exist."""

    def check(self, extension: Extension, context: RuleContext) -> Iterator[FieldError]:
        for index, right in enumerate(extension.rights):
            if right.group not in context.groups:
                yield FieldError(path=f"rights.{index}.group", reason=f"no group {right.group!r}")


class SchedulesExist:
    """The extension's own office hours name an existing schedule."""

    def check(self, extension: Extension, context: RuleContext) -> Iterator[FieldError]:
        name = extension.forwarding.office_hours
        if name is not None and name not in context.schedules:
            yield FieldError(path="forwarding.office_hours", reason=f"no office hours {name!r}")


class ReferencedExtensionsExist:
    """Destinations and BLF keys point at real extensions, never at itself."""

    def check(self, extension: Extension, context: RuleContext) -> Iterator[FieldError]:
        for reference in extension.references():
            if reference.number == extension.number and reference.rings:
                yield FieldError(path=reference.path, reason="must not forward to itself")
            elif reference.number != extension.number and reference.number not in context.numbers:
                yield FieldError(path=reference.path, reason=f"no extension {reference.number}")


EXTENSION_RULES: tuple[ExtensionRule, ...] = (
    NumberLength(),
    GroupsExist(),
    SchedulesExist(),
    ReferencedExtensionsExist(),
)


def check_extension(extension: Extension, context: RuleContext) -> list[FieldError]:
    """Run every rule; return all the problems found."""
    return [error for rule in EXTENSION_RULES for error in rule.check(extension, context)]
