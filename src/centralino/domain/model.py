"""The base of every domain value: a frozen, strict pydantic model.

Pydantic is used here for declaration and validation only (no I/O): one
declaration gives the API schema, the CSV columns and the stored JSON, so
every interface speaks the same vocabulary (SPEC section 5).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["DomainModel", "FieldValueError"]


class DomainModel(BaseModel):
    """Immutable, unknown-field-rejecting base for domain values."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class FieldValueError(ValueError):
    """A cross-field rule broken inside a model, naming the offending field.

    Raised from model validators so that error reports can point at the field
    (``voicemail.active_greeting``) rather than at the whole tab.
    """

    def __init__(self, field: str | tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.field: tuple[str | int, ...] = (field,) if isinstance(field, str) else field
        self.reason = reason
