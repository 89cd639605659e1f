"""Turn pydantic validation failures into the domain's field errors.

Paths are dotted and follow the input document (``blf_keys.1.number``), so an
administrator can find the field: pydantic's tags of discriminated unions are
dropped, and a cross-field rule (``FieldValueError``) points at its field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import FieldError, InvalidInput
from centralino.domain.extension import Extension, ExtensionSpec
from centralino.domain.model import FieldValueError

__all__ = ["complete_spec", "field_errors", "parse_model", "prefix_errors"]

ModelT = TypeVar("ModelT", bound=BaseModel)
_DISCRIMINATORS = ("type", "kind")


def _is_tag(node: Any, part: str | int, following: Sequence[str | int]) -> bool:
    if not isinstance(node, Mapping) or not isinstance(part, str):
        return False
    tagged = any(node.get(key) == part for key in _DISCRIMINATORS)
    return tagged and (part not in node or (bool(following) and following[0] in node))


def _document_path(location: Sequence[str | int], document: Any) -> list[str | int]:
    path: list[str | int] = []
    node = document
    for index, part in enumerate(location):
        if _is_tag(node, part, location[index + 1 :]):
            continue
        path.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return path


def _reason(error: ErrorDetails) -> str:
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldValueError):
        return cause.reason
    message = error["msg"]
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError, document: Any) -> list[FieldError]:
    """Translate a pydantic error into dotted-path field errors.

    Args:
        exc: the validation failure.
        document: the input that was validated (used to tell fields from tags).

    Returns:
        One field error per problem, in pydantic's order.
    """
    errors = []
    for error in exc.errors():
        path = _document_path(error["loc"], document)
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldValueError):
            path += list(cause.field)
        dotted = ".".join(str(part) for part in path) or "(body)"
        errors.append(FieldError(path=dotted, reason=_reason(error)))
    return errors


def prefix_errors(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    """Put ``prefix.`` in front of every path (a tab validated on its own)."""
    return [
        FieldError(path=f"{prefix}.{e.path}" if e.path != "(body)" else prefix, reason=e.reason)
        for e in errors
    ]


def parse_model(model: type[ModelT], document: Any, prefix: str = "") -> ModelT:
    """Validate ``document`` as ``model``.

    Raises:
        InvalidInput: naming every bad field.
    """
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        errors = field_errors(exc, document)
        raise InvalidInput(prefix_errors(prefix, errors) if prefix else errors) from exc


def complete_spec(
    spec: ExtensionSpec, generate: CredentialGenerator, previous: Extension | None = None
) -> Extension:
    """Complete a spec into an extension (see ``ExtensionSpec.complete``).

    Raises:
        InvalidInput: a rule of a complete extension is broken.
    """
    try:
        return spec.complete(generate, previous)
    except FieldValueError as exc:
        path = ".".join(str(part) for part in exc.field)
        raise InvalidInput([FieldError(path=path, reason=exc.reason)]) from exc
