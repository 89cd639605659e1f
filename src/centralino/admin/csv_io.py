"""CSV import and export of extensions.

Columns are the SPEC vocabulary: general fields by name, settings inside a
tab by dotted path (``voicemail.pin``, ``options.disabled``), and list-valued
settings (``dids``, ``devices``, ``blf_keys``, ``forwarding.exceptions`` ...)
as JSON in one cell. An empty cell means "the default".

Import is all or nothing: every row is validated, every system rule and
uniqueness check is run over the whole file, and only then is anything
written, in one transaction. Errors name the row (1 = first data row) and the
column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from centralino.admin.audit import mask_secrets
from centralino.admin.context import Actor
from centralino.admin.extensions import RESOURCE, rule_context, unique_conflicts
from centralino.admin.rules import check_extension
from centralino.admin.validation import complete_spec, parse_model
from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import FieldError, InvalidInput
from centralino.domain.events import ExtensionCreated
from centralino.domain.extension import TABS, Extension, ExtensionSpec
from centralino.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = ["COLUMNS", "MAX_ERRORS", "CsvService", "Progress", "export_csv", "parse_csv"]

MAX_ERRORS = 50
"""Stop collecting after this many problems: the file needs fixing anyway."""

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total) while a long import runs."""


def _flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in document.items():
        if isinstance(value, dict) and "type" not in value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


_SAMPLE = dict(
    _flatten(ExtensionSpec(number="100").complete(CredentialGenerator()).model_dump(mode="json"))
)

COLUMNS = tuple(sorted(_SAMPLE, key=lambda column: 1 if column.split(".")[0] in TABS else 0))
"""Every column: general fields (secrets included) first, then each tab's settings."""

_JSON_COLUMNS = frozenset(c for c, value in _SAMPLE.items() if isinstance(value, list | dict))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def export_csv(extensions: Sequence[Extension]) -> str:
    """Write extensions as CSV text with every column (secrets included)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for extension in extensions:
        flat = dict(_flatten(extension.model_dump(mode="json")))
        writer.writerow({column: _cell(flat.get(column)) for column in COLUMNS})
    return buffer.getvalue()


def _set_path(document: dict[str, Any], column: str, value: Any) -> None:
    *parents, leaf = column.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _row_document(row: Mapping[str, str], number: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for column, cell in row.items():
        text = (cell or "").strip()
        if not text:
            continue
        if column in _JSON_COLUMNS:
            try:
                value: Any = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    [FieldError(path=column, reason=f"not valid JSON: {exc.msg}", row=number)]
                ) from exc
        else:
            value = text
        _set_path(document, column, value)
    return document


def _column_of(path: str, header: Sequence[str]) -> str:
    matches = [c for c in header if path == c or path.startswith(c + ".")]
    return max(matches, key=len) if matches else path


def parse_csv(text: str) -> list[ExtensionSpec]:
    """Validate every row of a CSV file.

    Raises:
        InvalidInput: naming each bad row and column (up to ``MAX_ERRORS``).
    """
    try:
        return _parse_rows(text)
    except csv.Error as exc:
        reason = f"not a readable CSV file: {exc}"
        raise InvalidInput([FieldError(path="(file)", reason=reason, row=0)]) from exc


def _parse_rows(text: str) -> list[ExtensionSpec]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = list(reader.fieldnames or [])
    unknown = [column for column in header if column not in COLUMNS]
    if "number" not in header or unknown:
        reason = f"unknown columns {unknown}" if unknown else "the column 'number' is required"
        raise InvalidInput([FieldError(path="header", reason=reason, row=0)])
    specs: list[ExtensionSpec] = []
    errors: list[FieldError] = []
    for number, row in enumerate(reader, start=1):
        if None in row:
            errors.append(FieldError(path="(row)", reason="more cells than columns", row=number))
            continue
        try:
            specs.append(parse_model(ExtensionSpec, _row_document(row, number)))
        except InvalidInput as exc:
            errors += [_in_row(error, number, header) for error in exc.errors]
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InvalidInput(errors[:MAX_ERRORS])
    if not specs:
        raise InvalidInput([FieldError(path="(file)", reason="no extension rows", row=0)])
    return specs


def _in_row(error: FieldError, row: int, header: Sequence[str]) -> FieldError:
    column = _column_of(error.path, header)
    reason = error.reason if column == error.path else f"{error.reason} ({error.path})"
    return FieldError(path=column, reason=reason, row=error.row or row)


class CsvService:
    """Bulk import and export."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        generator: CredentialGenerator | None = None,
    ) -> None:
        self._units, self._clock = units, clock
        self._generate = generator or CredentialGenerator()

    async def export(self) -> str:
        """Every extension as CSV text."""
        async with self._units() as uow:
            return export_csv(await uow.extensions.all())

    async def import_csv(
        self, actor: Actor, text: str, progress: Progress | None = None
    ) -> list[Extension]:
        """Create the extensions of a CSV file, all or none.

        Raises:
            InvalidInput: a bad cell, or a system rule broken (nothing stored).
            Conflict: a number or unique value is taken (nothing stored).
        """
        report = progress or (lambda _phase, _done, _total: None)
        specs = parse_csv(text)
        report("validated", len(specs), len(specs))
        extensions = _complete_all(specs, self._generate)
        async with self._units() as uow:
            await self._check(uow, extensions)
            await uow.extensions.add_many(extensions)
            report("stored", len(extensions), len(extensions))
            await uow.audit.append_many(self._audit_entries(actor, extensions))
            created = [ExtensionCreated(number=e.number, extension=e) for e in extensions]
            await uow.changes.append(created, actor=actor.username)
            await uow.commit()
        report("done", len(extensions), len(extensions))
        return extensions

    async def _check(self, uow: UnitOfWork, extensions: Sequence[Extension]) -> None:
        numbers = [extension.number for extension in extensions]
        errors = _repeated_numbers(numbers)
        existing = await uow.extensions.existing_numbers(numbers)
        errors += [
            FieldError(path="number", reason=f"extension {number} already exists", row=row)
            for row, number in enumerate(numbers, start=1)
            if number in existing
        ]
        context = await rule_context(uow, extensions)
        for row, extension in enumerate(extensions, start=1):
            errors += [
                FieldError(path=e.path, reason=e.reason, row=row)
                for e in check_extension(extension, context)
            ]
        if errors:
            raise InvalidInput(errors[:MAX_ERRORS])
        conflicts = await unique_conflicts(uow, extensions)
        if conflicts:
            raise conflicts[0]

    def _audit_entries(self, actor: Actor, extensions: Sequence[Extension]) -> list[AuditEntry]:
        now = self._clock.now()
        return [
            AuditEntry(
                at=now,
                actor=actor.username,
                action=AuditAction.IMPORT,
                resource=RESOURCE,
                resource_id=extension.number,
                before=None,
                after=mask_secrets(extension.model_dump(mode="json")),
            )
            for extension in extensions
        ]


def _repeated_numbers(numbers: Sequence[str]) -> list[FieldError]:
    first_row: dict[str, int] = {}
    errors = []
    for row, number in enumerate(numbers, start=1):
        if number in first_row:
            reason = f"extension {number} is also on row {first_row[number]}"
            errors.append(FieldError(path="number", reason=reason, row=row))
        first_row.setdefault(number, row)
    return errors


def _complete_all(specs: Sequence[ExtensionSpec], generate: CredentialGenerator) -> list[Extension]:
    extensions, errors = [], []
    for row, spec in enumerate(specs, start=1):
        try:
            extensions.append(complete_spec(spec, generate))
        except InvalidInput as exc:
            errors += [FieldError(path=e.path, reason=e.reason, row=row) for e in exc.errors]
    if errors:
        raise InvalidInput(errors[:MAX_ERRORS])
    return extensions
