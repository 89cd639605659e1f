"""CSV import and export use-cases; an import of tens of thousands of rows in one short write.

Theory of operation. An import is all or nothing and may hold 50,000 rows
while the PBX carries calls in the same process. It runs in four steps:

1. Read (a unit of work): the settings, groups and schedules the rules need.
2. Validate (no transaction open): each row is parsed,
   completed (generated secrets), judged by the system rules and its unique
   values claimed; the extension is then serialized as it will be stored
   (its document, its audit entry, its ``ExtensionCreated`` record) and kept
   compressed (:class:`_Staged`: about 300 bytes, against three documents of
   3 KB and some eighty objects for the garbage collector to walk). The
   event loop is yielded to every ``SLICE`` (10 ms), so calls keep flowing
   (a worker thread would not do: under the GIL the event loop then waits
   up to 5 ms at every system call, and SIP answers took seconds).
3. Check (a unit of work, reads only): numbers that already exist,
   references to extensions outside the file, unique values held by others.
4. Write (a unit of work): the prepared rows, a chunk at a time
   (``ExtensionImport``), then one commit. An SQLite writer locks out every
   other writer until it commits, so this transaction does nothing else.

Problems are reported as the file's: bad cells and broken rules
(``InvalidInput``, by row and column, up to ``MAX_ERRORS``), else the first
unique value taken (``Conflict``); nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from centralino.admin.audit import mask_secrets
from centralino.admin.context import Actor
from centralino.admin.csv_io import (
    MAX_ERRORS,
    Progress,
    export_csv,
    file_numbers,
    rows,
)
from centralino.admin.extensions import RESOURCE
from centralino.admin.rules import RuleContext, check_extension
from centralino.admin.validation import complete_spec
from centralino.domain.audit import AuditAction
from centralino.domain.changes import encode_event_json
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import Conflict, FieldError, InvalidInput
from centralino.domain.events import ExtensionCreated
from centralino.domain.extension import Extension, ExtensionSpec, UniqueKey, UniqueKind
from centralino.domain.imports import PreparedExtension
from centralino.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = ["CHUNK_SIZE", "SLICE", "CsvService", "ImportedExtensions"]

CHUNK_SIZE = 500
"""Extensions written per ``ExtensionImport.add`` call."""
SLICE = 0.004
"""Seconds of validation between two yields to the event loop."""

_SEPARATOR = "\x00"  # never inside JSON text (control characters are escaped)
_DICTIONARY = ExtensionSpec(number="100").complete(CredentialGenerator()).model_dump_json().encode()
"""zlib's preset dictionary: a default extension, which most documents resemble."""


def _pack(*texts: str) -> bytes:
    packer = zlib.compressobj(1, zdict=_DICTIONARY)
    return packer.compress(_SEPARATOR.join(texts).encode()) + packer.flush()


def _unpack(packed: bytes) -> list[str]:
    unpacker = zlib.decompressobj(zdict=_DICTIONARY)
    return (unpacker.decompress(packed) + unpacker.flush()).decode().split(_SEPARATOR)


@dataclass(frozen=True, slots=True)
class _Staged:
    """A validated extension, its searchable fields and its stored forms (compressed)."""

    row: int
    number: str
    names: tuple[str, str, str | None, str | None]
    keys: tuple[UniqueKey, ...]
    packed: bytes

    @classmethod
    def of(cls, row: int, extension: Extension) -> _Staged:
        document = extension.model_dump_json()
        masked = mask_secrets(json.loads(document))
        audit = json.dumps(masked, ensure_ascii=False, separators=(",", ":"))
        created = ExtensionCreated(number=extension.number, extension=extension)
        kind, change = encode_event_json(created)
        names = (extension.first_name, extension.last_name, extension.email, extension.mobile)
        keys = tuple(extension.unique_keys())
        return cls(row, extension.number, names, keys, _pack(document, audit, kind, change))

    def prepared(self) -> PreparedExtension:
        document, audit, kind, change = _unpack(self.packed)
        first_name, last_name, email, mobile = self.names
        return PreparedExtension(
            number=self.number,
            first_name=first_name,
            last_name=last_name,
            email=email,
            mobile=mobile,
            keys=self.keys,
            document=document,
            audit_document=audit,
            change_type=kind,
            change=change,
        )

    def extension(self) -> Extension:
        return Extension.model_validate_json(_unpack(self.packed)[0])


class ImportedExtensions(Sequence[Extension]):
    """The extensions an import created, in file order.

    ``numbers`` is at hand; each extension is decoded when read (holding
    50,000 of them would cost hundreds of megabytes).
    """

    def __init__(self, staged: Sequence[_Staged]) -> None:
        self._staged = staged
        self.numbers = [item.number for item in staged]

    def __len__(self) -> int:
        return len(self._staged)

    @overload
    def __getitem__(self, index: int) -> Extension: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Extension]: ...
    def __getitem__(self, index: int | slice) -> Extension | Sequence[Extension]:
        if isinstance(index, slice):
            return [item.extension() for item in self._staged[index]]
        return self._staged[index].extension()


@dataclass
class _Validation:
    """What the validation pass found (built in a worker thread)."""

    several: bool
    staged: list[_Staged] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    claims: dict[tuple[UniqueKind, str], tuple[int, str, str]] = field(default_factory=dict)
    first_rows: dict[str, int] = field(default_factory=dict)
    outside: list[tuple[int, str, str]] = field(default_factory=list)
    """References to numbers outside the file: (row, path, number), checked later."""

    def full(self) -> bool:
        return len(self.errors) >= MAX_ERRORS

    def add(self, row: int, extension: Extension, context: RuleContext) -> None:
        self._repeated(row, extension.number)
        self._judge(row, extension, context)
        self._claim(row, extension)
        if not self.errors and not self.conflicts:
            self.staged.append(_Staged.of(row, extension))  # serialized only while useful

    def _repeated(self, row: int, number: str) -> None:
        first = self.first_rows.setdefault(number, row)
        if first != row:
            reason = f"extension {number} is also on row {first}"
            self.errors.append(FieldError(path="number", reason=reason, row=row))

    def _judge(self, row: int, extension: Extension, context: RuleContext) -> None:
        outside = [
            reference
            for reference in extension.references()
            if reference.number != extension.number and reference.number not in context.numbers
        ]
        later = {reference.path for reference in outside}
        self.outside += [(row, reference.path, reference.number) for reference in outside]
        self.errors += [
            FieldError(path=error.path, reason=error.reason, row=row)
            for error in check_extension(extension, context)
            if error.path not in later
        ]

    def _claim(self, row: int, extension: Extension) -> None:
        for key in extension.unique_keys():
            holder = self.claims.setdefault(
                (key.kind, key.value), (row, extension.number, key.path)
            )
            if holder[1] != extension.number:
                reason = f"{key.value!r} is also given to extension {holder[1]} in this batch"
                self.conflicts.append(Conflict(key.path, reason, row if self.several else None))


async def _validate(text: str, context: RuleContext, generate: CredentialGenerator) -> _Validation:
    """Step 2: every row parsed, completed, judged and staged, a slice at a time."""
    numbers = file_numbers(text)
    context = RuleContext(
        extension_length=context.extension_length,
        groups=context.groups,
        schedules=context.schedules,
        numbers=numbers,
    )
    found = _Validation(several=len(numbers) > 1)
    pause = time.monotonic() + SLICE
    for row, spec, problems in rows(text):
        if time.monotonic() >= pause:
            await asyncio.sleep(0)  # let calls through
            pause = time.monotonic() + SLICE
        found.errors += problems
        if spec is not None:
            try:
                found.add(row, complete_spec(spec, generate), context)
            except InvalidInput as exc:
                found.errors += [replace(error, row=row) for error in exc.errors]
        if found.full():
            break
    if not found.errors and not found.staged and not found.conflicts:
        found.errors.append(FieldError(path="(file)", reason="no extension rows", row=0))
    return found


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
    ) -> ImportedExtensions:
        """Create the extensions of a CSV file, all or none.

        Raises:
            InvalidInput: a bad cell, or a system rule broken (nothing stored).
            Conflict: a number or unique value is taken (nothing stored).
        """
        report = progress or (lambda _phase, _done, _total: None)
        context = await self._context()
        found = await _validate(text, context, self._generate)
        await self._check(found)
        staged = found.staged
        report("validated", len(staged), len(staged))
        now = self._clock.now()
        async with self._units() as uow:
            for start in range(0, len(staged), CHUNK_SIZE):
                batch = [item.prepared() for item in staged[start : start + CHUNK_SIZE]]
                await uow.imports.add(
                    batch,
                    actor=actor.username,
                    at=now,
                    action=AuditAction.IMPORT,
                    resource=RESOURCE,
                )
                report("stored", start + len(batch), len(staged))
            await uow.commit()
        report("done", len(staged), len(staged))
        return ImportedExtensions(staged)

    async def _context(self) -> RuleContext:
        async with self._units() as uow:
            settings = await uow.settings.get()
            groups = frozenset(group.name for group in await uow.groups.all())
            schedules = frozenset(schedule.name for schedule in await uow.office_hours.all())
        return RuleContext(
            extension_length=settings.numbering.extension_length,
            groups=groups,
            schedules=schedules,
            numbers=frozenset(),
        )

    async def _check(self, found: _Validation) -> None:
        """Step 3: what the file cannot know; raise the problems found so far."""
        async with self._units() as uow:
            if not found.full():
                existing = await uow.extensions.existing_numbers(found.first_rows)
                found.errors += [
                    FieldError(path="number", reason=f"extension {number} already exists", row=row)
                    for number, row in found.first_rows.items()
                    if number in existing
                ]
                referenced = await uow.extensions.existing_numbers({n for _, _, n in found.outside})
                found.errors += [
                    FieldError(path=path, reason=f"no extension {number}", row=row)
                    for row, path, number in found.outside
                    if number not in referenced
                ]
            if found.errors:
                raise InvalidInput(sorted(found.errors, key=_row_of)[:MAX_ERRORS])
            if not found.conflicts:
                found.conflicts = await _held_by_others(uow, found)
        if found.conflicts:
            raise min(found.conflicts, key=lambda conflict: conflict.row or 0)


def _row_of(error: FieldError) -> int:
    return error.row or 0


async def _held_by_others(uow: UnitOfWork, found: _Validation) -> list[Conflict]:
    """The file's unique values that another extension holds."""
    conflicts: list[Conflict] = []
    for kind in UniqueKind:
        claimed = {value: holder for (k, value), holder in found.claims.items() if k is kind}
        if not claimed:
            continue
        for value, owner in (await uow.extensions.owners(kind, claimed)).items():
            row, number, path = claimed[value]
            if owner != number:
                reason = f"{value!r} is already used by extension {owner}"
                conflicts.append(Conflict(path, reason, row if found.several else None))
    return conflicts
