"""Turn pydantic validation failures into the domain's field errors.

Paths are dotted and follow the input document (``blf_keys.1.number``), so an
administrator can find the field: pydantic's tags of discriminated unions are
dropped, a cross-field rule (``FieldValueError``) points at its field, and an
unknown or missing discriminator (``blf_keys.0.kind``) names the allowed values.
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
_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")
_NO_TAG = "\x00"


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


def _unquote(text: str) -> str:
    return text.strip().strip("'\"")


def _expected_tags(
    error: ErrorDetails, model: type[BaseModel] | None, document: Any
) -> list[str] | None:
    """The allowed tags of the union that failed.

    ``union_tag_not_found`` does not carry them: validate again with an
    impossible tag at the same place and read them from that error.
    """
    context = error.get("ctx") or {}
    if "expected_tags" in context:
        return [_unquote(tag) for tag in str(context["expected_tags"]).split(",")]
    if model is None:
        return None
    probe = _with_tag(document, error["loc"], _unquote(str(context.get("discriminator", ""))))
    try:
        model.model_validate(probe)
    except ValidationError as exc:
        for other in exc.errors():
            if other["type"] == "union_tag_invalid" and other["loc"] == error["loc"]:
                return _expected_tags(other, None, probe)
    return None


def _with_tag(document: Any, location: Sequence[str | int], discriminator: str) -> Any:
    """A copy of ``document`` with ``discriminator`` set to an impossible tag at ``location``."""
    if not location:
        return {**document, discriminator: _NO_TAG} if isinstance(document, Mapping) else document
    part, rest = location[0], location[1:]
    if isinstance(document, Mapping) and part in document:
        return {**document, part: _with_tag(document[part], rest, discriminator)}
    if isinstance(document, list) and isinstance(part, int) and 0 <= part < len(document):
        copy = list(document)
        copy[part] = _with_tag(document[part], rest, discriminator)
        return copy
    return document


def _tag_error(
    error: ErrorDetails, path: list[str | int], model: type[BaseModel] | None, document: Any
) -> FieldError:
    """An unknown or missing discriminator, at the discriminator's own path."""
    discriminator = _unquote(str((error.get("ctx") or {}).get("discriminator", "")))
    tags = _expected_tags(error, model, document)
    allowed = f"must be one of: {', '.join(tags)}" if tags else "is not a known value"
    reason = f"is required and {allowed}" if error["type"] == "union_tag_not_found" else allowed
    dotted = ".".join(str(part) for part in [*path, discriminator] if part != "")
    return FieldError(path=dotted, reason=reason)


def field_errors(
    exc: ValidationError, document: Any, model: type[BaseModel] | None = None
) -> list[FieldError]:
    """Translate a pydantic error into dotted-path field errors.

    Args:
        exc: the validation failure.
        document: the input that was validated (used to tell fields from tags).
        model: the model that was validated, to name the allowed values of a
            missing discriminator.

    Returns:
        One field error per problem, in pydantic's order.
    """
    errors = []
    for error in exc.errors():
        path = _document_path(error["loc"], document)
        if error["type"] in _TAG_ERRORS:
            errors.append(_tag_error(error, path, model, document))
            continue
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
        errors = field_errors(exc, document, model)
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
