"""CSV import and export use-cases; an import of tens of thousands of rows in one short write.

Theory of operation. An import is all or nothing and may hold 50,000 rows
while the PBX carries calls in the same process. It runs in four steps:

1. Read (a unit of work): the settings, groups and schedules the rules need.
2. Validate (no transaction open): each row is parsed, completed (generated
   secrets), judged by the system rules and its unique values claimed; the
   extension is then serialized as it will be stored (its document, its
   audit entry, its ``ExtensionCreated`` record: a ``PreparedExtension``)
   and every ``CHUNK_SIZE`` of them are pickled and compressed together
   (about 280 bytes a row, against three documents of 3 KB and some eighty
   objects for the garbage collector to walk). That is ~0.3 ms of Python a
   row. A file of more than ``OFFLOAD_LINES`` lines is validated in a child
   process (``workers.run_in_process``) that sends the packed chunks, then
   the numbers and unique values, back through a pipe: the event loop only
   receives them. Validated on the loop, even in slices, 10,000 rows kept
   the loop's thread busy for three seconds, and a busy thread is preempted
   by the scheduler like any other, with SIP answers waiting (20-50 ms,
   docs/architecture.md); a thread would not do either, under the GIL the
   loop then waits up to 5 ms at each of its system calls. A smaller file
   (or one when no child can be started) is validated here, the loop
   yielded to every ``SLICE``.
3. Check (a unit of work, reads only): numbers that already exist,
   references to extensions outside the file, unique values held by others,
   ``CHECK_SIZE`` values a call.
4. Write (a unit of work): ``WRITE_SIZE`` extensions per
   ``ExtensionImport.add``, unpacked a chunk per turn of the loop just
   before, then one commit. An SQLite writer locks out every other writer
   until it commits, so this transaction does nothing else.

Problems are reported as the file's: bad cells and broken rules
(``InvalidInput``, by row and column, up to ``MAX_ERRORS``), else the first
unique value taken (``Conflict``); nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
import zlib
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

import structlog

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
from centralino.admin.workers import WorkerFailed, run_in_process
from centralino.domain.audit import AuditAction
from centralino.domain.changes import encode_event_json
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import Conflict, FieldError, InvalidInput
from centralino.domain.events import ExtensionCreated
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.imports import PreparedExtension
from centralino.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CHECK_SIZE",
    "CHUNK_SIZE",
    "OFFLOAD_LINES",
    "SLICE",
    "WRITE_SIZE",
    "CsvService",
    "ImportedExtensions",
]

CHUNK_SIZE = 100
"""Extensions per packed chunk: unpacked in one go on the event loop (~1.5 ms)."""
WRITE_SIZE = 500
"""Extensions per ``ExtensionImport.add`` (a multiple of ``CHUNK_SIZE``): each insert
statement a round trip, fewer and larger statements hold the write lock for less time."""
SLICE = 0.002
"""Seconds of validation between two yields to the event loop (a file validated here)."""
OFFLOAD_LINES = 1000
"""Files of more lines than this are validated in a child process."""
CHECK_SIZE = 1000
"""Numbers or unique values looked up per call while checking."""
_PIECE = 1000
"""Numbers, unique values or references per message from the child process."""

log = structlog.get_logger("centralino.admin")


def _prepared(extension: Extension) -> PreparedExtension:
    """``extension`` in the forms it is stored in: document, audit entry, change record."""
    document = extension.model_dump_json()
    masked = mask_secrets(json.loads(document))
    kind, change = encode_event_json(ExtensionCreated(number=extension.number, extension=extension))
    return PreparedExtension(
        number=extension.number,
        first_name=extension.first_name,
        last_name=extension.last_name,
        email=extension.email,
        mobile=extension.mobile,
        keys=tuple(extension.unique_keys()),
        document=document,
        audit_document=json.dumps(masked, ensure_ascii=False, separators=(",", ":")),
        change_type=kind,
        change=change,
    )


def _pack(batch: list[PreparedExtension]) -> bytes:
    return zlib.compress(pickle.dumps(batch, protocol=5), 1)


def _unpack(chunk: bytes) -> list[PreparedExtension]:
    batch: list[PreparedExtension] = pickle.loads(zlib.decompress(chunk))
    return batch


class ImportedExtensions(Sequence[Extension]):
    """The extensions an import created, in file order.

    ``numbers`` is at hand; each extension is decoded from its packed chunk
    when read (holding 50,000 of them would cost hundreds of megabytes).
    """

    def __init__(self, chunks: Sequence[bytes], numbers: list[str]) -> None:
        self._chunks = chunks
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    @overload
    def __getitem__(self, index: int) -> Extension: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Extension]: ...
    def __getitem__(self, index: int | slice) -> Extension | Sequence[Extension]:
        if isinstance(index, slice):
            return self._read(range(len(self))[index])
        if not -len(self) <= index < len(self):
            raise IndexError("imported extension index out of range")
        return self._read([index % len(self)])[0]

    def _read(self, indexes: Sequence[int]) -> list[Extension]:
        unpacked: dict[int, list[PreparedExtension]] = {}
        found = []
        for index in indexes:
            chunk, offset = divmod(index, CHUNK_SIZE)
            if chunk not in unpacked:
                unpacked = {chunk: _unpack(self._chunks[chunk])}  # one chunk held at a time
            found.append(Extension.model_validate_json(unpacked[chunk][offset].document))
        return found


@dataclass
class _Validation:
    """What the validation pass found."""

    several: bool = False
    chunks: list[bytes] = field(default_factory=list)
    """The valid extensions, prepared and packed ``CHUNK_SIZE`` at a time (while no problem)."""
    errors: list[FieldError] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    claims: dict[UniqueKind, dict[str, tuple[int, str, str]]] = field(default_factory=dict)
    """Each unique value of the file: (row, number, path) of the first extension holding it."""
    first_rows: dict[str, int] = field(default_factory=dict)
    outside: list[tuple[int, str, str]] = field(default_factory=list)
    """References to numbers outside the file: (row, path, number), checked later."""
    batch: list[PreparedExtension] = field(default_factory=list)
    """Prepared extensions not packed yet."""

    def full(self) -> bool:
        return len(self.errors) >= MAX_ERRORS

    def clean(self) -> bool:
        return not self.errors and not self.conflicts

    def add(self, row: int, extension: Extension, context: RuleContext) -> None:
        self._repeated(row, extension.number)
        self._judge(row, extension, context)
        self._claim(row, extension)
        if self.clean():  # serialized only while useful
            self.batch.append(_prepared(extension))
            if len(self.batch) == CHUNK_SIZE:
                self.seal()

    def seal(self) -> None:
        """Pack the extensions prepared so far."""
        if self.batch:
            self.chunks.append(_pack(self.batch))
            self.batch = []

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
            claimed = self.claims.setdefault(key.kind, {})
            holder = claimed.setdefault(key.value, (row, extension.number, key.path))
            if holder[1] != extension.number:
                reason = f"{key.value!r} is also given to extension {holder[1]} in this batch"
                self.conflicts.append(Conflict(key.path, reason, row if self.several else None))


def _validating(
    found: _Validation, text: str, context: RuleContext, generate: CredentialGenerator
) -> Iterator[None]:
    """Step 2 into ``found``, row by row: yields after each row (a place to pause).

    Raises:
        InvalidInput: a bad header, or a file the CSV reader cannot read.
    """
    numbers = file_numbers(text)
    context = replace(context, numbers=numbers)
    found.several = len(numbers) > 1
    for row, spec, problems in rows(text):
        found.errors += problems
        if spec is not None:
            try:
                found.add(row, complete_spec(spec, generate), context)
            except InvalidInput as exc:
                found.errors += [replace(error, row=row) for error in exc.errors]
        if found.full():
            break
        yield
    found.seal()
    if found.clean() and not found.first_rows:
        found.errors.append(FieldError(path="(file)", reason="no extension rows", row=0))


async def _validate_here(
    text: str, context: RuleContext, generate: CredentialGenerator
) -> _Validation:
    """Step 2 on the event loop, yielding it every ``SLICE``."""
    found, pause = _Validation(), time.monotonic() + SLICE
    for _ in _validating(found, text, context, generate):
        if time.monotonic() >= pause:
            await asyncio.sleep(0)  # let calls through
            pause = time.monotonic() + SLICE
    return found


# Step 2 in a child process ------------------------------------------------------
#
# The child sends, pickled: ("chunk", packed chunk) as they are made, then
# ("rows", [(number, row)]), ("claims", kind, [(value, row, number, path)]),
# ("outside", [(row, path, number)]) in pieces, and last ("end", several,
# errors, [(path, reason, row)] of the conflicts); or ("invalid", errors)
# for a file it cannot read.


@dataclass(frozen=True, slots=True)
class _Job:
    text: str
    context: RuleContext


def _message(*parts: object) -> bytes:
    return pickle.dumps(parts, protocol=5)


def _pieces(items: Sequence[Any], size: int = _PIECE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _new_chunks(found: _Validation) -> Iterator[bytes]:
    """The chunks packed since the last call (each sent once, then dropped)."""
    for chunk in found.chunks:
        yield _message("chunk", chunk)
    found.chunks.clear()


def _validate_in_child(job: _Job) -> Iterator[bytes]:
    """The child's task: validate ``job.text`` and send what was found (see above)."""
    found = _Validation()
    steps = _validating(found, job.text, job.context, CredentialGenerator())
    try:
        for _ in steps:
            yield from _new_chunks(found)
    except InvalidInput as exc:
        yield _message("invalid", exc.errors)
        return
    yield from _new_chunks(found)
    for piece in _pieces(list(found.first_rows.items())):
        yield _message("rows", piece)
    for kind, claimed in found.claims.items():
        for piece in _pieces([(value, *holder) for value, holder in claimed.items()]):
            yield _message("claims", kind, piece)
    for piece in _pieces(found.outside):
        yield _message("outside", piece)
    conflicts = [(conflict.path, conflict.reason, conflict.row) for conflict in found.conflicts]
    yield _message("end", found.several, found.errors, conflicts)


class _Received:
    """The child's messages, gathered into a :class:`_Validation` (on the event loop)."""

    def __init__(self) -> None:
        self.found = _Validation()
        self.invalid: list[FieldError] | None = None
        self.ended = False

    def __call__(self, message: bytes) -> None:
        kind, *parts = pickle.loads(message)
        found = self.found
        if kind == "chunk":
            found.chunks.append(parts[0])
        elif kind == "rows":
            found.first_rows.update(parts[0])
        elif kind == "claims":
            claimed = found.claims.setdefault(parts[0], {})
            claimed.update((value, (row, number, path)) for value, row, number, path in parts[1])
        elif kind == "outside":
            found.outside += parts[0]
        elif kind == "invalid":
            self.invalid, self.ended = parts[0], True
        elif kind == "end":
            found.several, found.errors = parts[0], parts[1]
            found.conflicts = [Conflict(path, reason, row) for path, reason, row in parts[2]]
            self.ended = True


async def _validate_elsewhere(text: str, context: RuleContext) -> _Validation:
    """Step 2 in a child process.

    Raises:
        InvalidInput: a bad header, or a file the CSV reader cannot read.
        OSError: no child process could be started.
        WorkerFailed: the child failed.
    """
    received = _Received()
    await run_in_process(_validate_in_child, _Job(text, context), received)
    if not received.ended:
        raise WorkerFailed("the worker process sent no result")
    if received.invalid is not None:
        raise InvalidInput(received.invalid)
    return received.found


def _draws_from_the_system(generate: CredentialGenerator) -> bool:
    """Whether ``generate`` uses the system's randomness (which cannot be pickled).

    A child process then makes equally good credentials with a generator of
    its own; a seeded generator (tests) would repeat its draws there.
    """
    try:
        pickle.dumps(generate)
    except (NotImplementedError, TypeError, pickle.PicklingError):
        return True
    return False


class CsvService:
    """Bulk import and export.

    Args:
        units: the unit-of-work factory.
        clock: the time of the audit entries and changes.
        generator: makes the credentials a row leaves empty.
        offload_lines: files of more lines are validated in a child process
            (when ``generator`` draws from the system's randomness).
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        generator: CredentialGenerator | None = None,
        *,
        offload_lines: int = OFFLOAD_LINES,
    ) -> None:
        self._units, self._clock = units, clock
        self._generate = generator or CredentialGenerator()
        self._offload = offload_lines if _draws_from_the_system(self._generate) else None

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
        found = await self._validate(text, await self._context())
        await self._check(found)
        numbers = list(found.first_rows)
        total = len(numbers)
        report("validated", total, total)
        now = self._clock.now()
        async with self._units() as uow:
            stored = 0
            for batch in _batches(found.chunks):
                await uow.imports.add(
                    await batch,
                    actor=actor.username,
                    at=now,
                    action=AuditAction.IMPORT,
                    resource=RESOURCE,
                )
                stored = min(total, stored + WRITE_SIZE)
                report("stored", stored, total)
            await uow.commit()
        report("done", total, total)
        return ImportedExtensions(found.chunks, numbers)

    async def _validate(self, text: str, context: RuleContext) -> _Validation:
        if self._offload is not None and text.count("\n") > self._offload:
            try:
                return await _validate_elsewhere(text, context)
            except (OSError, WorkerFailed) as exc:
                log.warning("import validated in-process: no worker process", reason=str(exc))
        return await _validate_here(text, context, self._generate)

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
                found.errors += await _taken_numbers(uow, found.first_rows)
                found.errors += await _missing_references(uow, found.outside)
            if found.errors:
                raise InvalidInput(sorted(found.errors, key=_row_of)[:MAX_ERRORS])
            if not found.conflicts:
                found.conflicts = await _held_by_others(uow, found)
        if found.conflicts:
            raise min(found.conflicts, key=lambda conflict: conflict.row or 0)


def _batches(chunks: Sequence[bytes]) -> Iterator[Awaitable[list[PreparedExtension]]]:
    """``WRITE_SIZE`` extensions at a time, unpacked a chunk per turn of the event loop."""
    per_write = WRITE_SIZE // CHUNK_SIZE
    for start in range(0, len(chunks), per_write):
        yield _unpacked(chunks[start : start + per_write])


async def _unpacked(chunks: Sequence[bytes]) -> list[PreparedExtension]:
    batch: list[PreparedExtension] = []
    for chunk in chunks:
        if batch:
            await asyncio.sleep(0)  # let calls through
        batch += _unpack(chunk)
    return batch


def _row_of(error: FieldError) -> int:
    return error.row or 0


async def _taken_numbers(uow: UnitOfWork, first_rows: dict[str, int]) -> list[FieldError]:
    """The file's numbers that are extensions already, ``CHECK_SIZE`` a query."""
    errors: list[FieldError] = []
    for piece in _pieces(list(first_rows), CHECK_SIZE):
        existing = await uow.extensions.existing_numbers(piece)
        errors += [
            FieldError(
                path="number", reason=f"extension {number} already exists", row=first_rows[number]
            )
            for number in piece
            if number in existing
        ]
    return errors


async def _missing_references(
    uow: UnitOfWork, outside: list[tuple[int, str, str]]
) -> list[FieldError]:
    """References to numbers that are neither in the file nor extensions."""
    if not outside:
        return []
    referenced = await uow.extensions.existing_numbers({number for _, _, number in outside})
    return [
        FieldError(path=path, reason=f"no extension {number}", row=row)
        for row, path, number in outside
        if number not in referenced
    ]


async def _held_by_others(uow: UnitOfWork, found: _Validation) -> list[Conflict]:
    """The file's unique values that another extension holds, ``CHECK_SIZE`` a query."""
    conflicts: list[Conflict] = []
    for kind, claimed in found.claims.items():
        for piece in _pieces(list(claimed), CHECK_SIZE):
            for value, owner in (await uow.extensions.owners(kind, piece)).items():
                row, number, path = claimed[value]
                if owner != number:
                    reason = f"{value!r} is already used by extension {owner}"
                    conflicts.append(Conflict(path, reason, row if found.several else None))
    return conflicts
