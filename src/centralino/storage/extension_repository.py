"""Extensions on SQL: one row each, plus one ``extension_keys`` row per unique value.

Theory of operation. The extension is stored whole as its JSON dump; the
columns beside it exist to search and sort. Uniqueness of SIP user names,
DIDs, MACs and meeting rooms is the primary key of ``extension_keys``, so the
database refuses a value held twice even when two writers race.

Before writing, ``add``/``replace``/``add_many`` look the new values up so that
a clash becomes a ``Conflict`` naming the field (``dids.0``) and the holder,
with nothing written. If another transaction wins the race in between, the
database's ``IntegrityError`` is translated into the same ``Conflict``; the unit
of work must then be rolled back (it may hold part of the change).

Searching never loads every row: the filter and the sort run in SQL over the
plain columns, and only the page's JSON is read and validated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.errors import Conflict, NotFound
from centralino.domain.extension import Extension, UniqueKey, UniqueKind
from centralino.domain.ports import ExtensionQuery, ExtensionSort, Page
from centralino.domain.shared_tabs import SharedTabs
from centralino.storage.documents import as_document
from centralino.storage.tables import SEARCHED_COLUMNS, extension_keys, extensions

__all__ = ["CHUNK_SIZE", "SqlExtensionRepository"]

CHUNK_SIZE = 500
"""Values per ``IN (...)`` list: well under every backend's parameter limit."""

_PG_KEY_DETAIL = re.compile(
    r"Key \(kind, value\)=\((?P<kind>[^,]+), (?P<value>.*)\) already exists"
)
_PG_NUMBER_DETAIL = re.compile(r"Key \(number\)=\((?P<number>.*)\) already exists")
_SQLITE_NUMBER_TAKEN = "UNIQUE constraint failed: extensions.number"

_SORT_COLUMNS = {
    ExtensionSort.NUMBER: extensions.c.number,
    ExtensionSort.FIRST_NAME: func.lower(extensions.c.first_name),
    ExtensionSort.LAST_NAME: func.lower(extensions.c.last_name),
    ExtensionSort.EMAIL: func.lower(extensions.c.email),
}


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK_SIZE):
        yield values[start : start + CHUNK_SIZE]


def _row(extension: Extension, now: dt.datetime) -> dict[str, Any]:
    return {
        "number": extension.number,
        "first_name": extension.first_name,
        "last_name": extension.last_name,
        "email": extension.email or "",
        "mobile": extension.mobile or "",
        "data": as_document(extension),
        "updated_at": now,
    }


def _key_rows(extension: Extension) -> list[dict[str, str]]:
    return [
        {"kind": key.kind.value, "value": key.value, "number": extension.number}
        for key in extension.unique_keys()
    ]


def _search_filter(text: str | None, dialect: str) -> ColumnElement[bool] | None:
    needle = (text or "").strip()
    if not needle:
        return None
    full_name = extensions.c.first_name + " " + extensions.c.last_name
    columns = [extensions.c[name] for name in SEARCHED_COLUMNS] + [full_name]
    if dialect == "sqlite":
        # SQLite's LIKE already ignores case (ASCII, like its lower()); three
        # times faster than lower(column) LIKE lower(text).
        return or_(*(column.contains(needle, autoescape=True) for column in columns))
    # On PostgreSQL lower(column) LIKE is a third faster than ILIKE.
    lowered = needle.lower()
    return or_(*(func.lower(column).contains(lowered, autoescape=True) for column in columns))


def _conflict(batch: Sequence[Extension], index: int, path: str, reason: str) -> Conflict:
    """A conflict on ``path``; in a batch of several, ``row`` is the 1-based position."""
    return Conflict(path, reason, row=None if len(batch) == 1 else index + 1)


class SqlExtensionRepository:
    """``ExtensionRepository`` on one SQLAlchemy connection (the unit of work's).

    Args:
        connection: the unit of work's connection, inside its transaction.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, number: str) -> Extension | None:
        """Return the extension ``number``, or None."""
        statement = select(extensions.c.data).where(extensions.c.number == number)
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else Extension.model_validate(data)

    async def find_by_sip_user(self, user: str) -> Extension | None:
        """Return the extension whose auth ID or SIP ID is ``user`` (any case), or None."""
        statement = (
            select(extensions.c.data)
            .join(extension_keys, extension_keys.c.number == extensions.c.number)
            .where(
                extension_keys.c.kind == UniqueKind.SIP_USER.value,
                extension_keys.c.value == user.lower(),
            )
        )
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else Extension.model_validate(data)

    async def search(self, query: ExtensionQuery) -> Page[Extension]:
        """Return one page of the extensions matching ``query`` and their total count.

        The search text matches, case-insensitively and anywhere inside, the
        number, first name, last name, "first last", email and mobile.
        """
        condition = _search_filter(query.search, self._connection.dialect.name)
        counting = select(func.count()).select_from(extensions)
        paging = select(extensions.c.number)
        if condition is not None:
            counting, paging = counting.where(condition), paging.where(condition)
        total = (await self._connection.execute(counting)).scalar_one()
        sort_key = _SORT_COLUMNS[query.sort]
        order = (sort_key, extensions.c.number)
        paging = paging.order_by(*(c.desc() if query.descending else c.asc() for c in order))
        paging = paging.offset(query.offset).limit(query.limit)
        numbers = list((await self._connection.execute(paging)).scalars())
        return Page(items=await self._load(numbers), total=total)

    async def _load(self, numbers: Sequence[str]) -> list[Extension]:
        if not numbers:
            return []
        statement = select(extensions.c.number, extensions.c.data).where(
            extensions.c.number.in_(numbers)
        )
        data = dict((await self._connection.execute(statement)).all())
        return [Extension.model_validate(data[number]) for number in numbers]

    async def all(self) -> Sequence[Extension]:
        """Return every extension, by number (identical tabs shared: ``SharedTabs``)."""
        statement = select(extensions.c.data).order_by(extensions.c.number)
        result = await self._connection.execute(statement)
        shared = SharedTabs()
        return [shared.decode(data) for data in result.scalars()]

    async def existing_numbers(self, numbers: Collection[str]) -> set[str]:
        """Return the subset of ``numbers`` that are extensions."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(numbers))):
            statement = select(extensions.c.number).where(extensions.c.number.in_(chunk))
            found.update((await self._connection.execute(statement)).scalars())
        return found

    async def owners(self, kind: UniqueKind, values: Collection[str]) -> dict[str, str]:
        """Map each of ``values`` held by some extension to that extension's number.

        SIP user names are compared case-insensitively; the map's keys are the
        values as given.
        """
        fold = str.lower if kind is UniqueKind.SIP_USER else str
        wanted: dict[str, list[str]] = {}
        for value in values:
            wanted.setdefault(fold(value), []).append(value)
        held = await self._holders(kind, list(wanted))
        return {given: held[stored] for stored in held for given in wanted[stored]}

    async def _holders(self, kind: UniqueKind, stored_values: Sequence[str]) -> dict[str, str]:
        held: dict[str, str] = {}
        for chunk in _chunks(stored_values):
            statement = select(extension_keys.c.value, extension_keys.c.number).where(
                extension_keys.c.kind == kind.value, extension_keys.c.value.in_(chunk)
            )
            result = await self._connection.execute(statement)
            held.update(dict(result.all()))
        return held

    async def add(self, extension: Extension) -> None:
        """Insert a new extension and its unique keys.

        Raises:
            Conflict: the number or one of its unique values is already taken.
        """
        await self.add_many([extension])

    async def add_many(self, extensions_to_add: Sequence[Extension]) -> None:
        """Insert many new extensions at once (bulk import), all or nothing.

        Raises:
            Conflict: a number or unique value is taken, or repeated in the batch;
                with several extensions, ``row`` is the offender's 1-based position.
        """
        if not extensions_to_add:
            return
        await self._check_new(extensions_to_add)
        now = dt.datetime.now(dt.UTC)
        rows = [_row(extension, now) for extension in extensions_to_add]
        keys = [key for extension in extensions_to_add for key in _key_rows(extension)]
        try:
            await self._connection.execute(insert(extensions), rows)
            if keys:
                await self._connection.execute(insert(extension_keys), keys)
        except IntegrityError as error:
            raise await self._translate(error, extensions_to_add) from error

    async def replace(self, extension: Extension) -> None:
        """Rewrite an existing extension; its unique keys only when they changed.

        Raises:
            NotFound: there is no extension with this number.
            Conflict: one of its unique values is held by another extension.
        """
        number = extension.number
        keys = _key_rows(extension)
        held = select(extension_keys.c.kind, extension_keys.c.value).where(
            extension_keys.c.number == number
        )
        stored = {(row.kind, row.value) for row in await self._connection.execute(held)}
        rewrite = stored != {(key["kind"], key["value"]) for key in keys}
        if rewrite:
            await self._check_keys([extension])
        row = _row(extension, dt.datetime.now(dt.UTC))
        try:
            statement = update(extensions).where(extensions.c.number == number).values(row)
            if (await self._connection.execute(statement)).rowcount == 0:
                raise NotFound("extension", number)
            if rewrite:
                await self._connection.execute(
                    delete(extension_keys).where(extension_keys.c.number == number)
                )
                if keys:
                    await self._connection.execute(insert(extension_keys), keys)
        except IntegrityError as error:
            raise await self._translate(error, [extension]) from error

    async def delete(self, number: str) -> None:
        """Delete an extension; its unique keys go with it.

        Raises:
            NotFound: there is no extension with this number.
        """
        statement = delete(extensions).where(extensions.c.number == number)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("extension", number)

    async def _check_new(self, batch: Sequence[Extension]) -> None:
        seen: dict[str, int] = {}
        for index, extension in enumerate(batch):
            if extension.number in seen:
                reason = f"extension {extension.number} appears more than once"
                raise _conflict(batch, index, "number", reason)
            seen[extension.number] = index
        taken = await self.existing_numbers(seen)
        if taken:
            number = min(taken, key=seen.__getitem__)
            raise _conflict(batch, seen[number], "number", f"extension {number} already exists")
        await self._check_keys(batch)

    async def _check_keys(self, batch: Sequence[Extension]) -> None:
        conflict = _repeated_key(batch) or await self._held_key(batch)
        if conflict is not None:
            raise conflict

    async def _held_key(self, batch: Sequence[Extension]) -> Conflict | None:
        located = list(_keys_of(batch))
        by_kind: dict[UniqueKind, list[str]] = {}
        for _, _, key in located:
            by_kind.setdefault(key.kind, []).append(key.value)
        held = {kind: await self._holders(kind, values) for kind, values in by_kind.items()}
        for index, extension, key in located:
            holder = held[key.kind].get(key.value)
            if holder is not None and holder != extension.number:
                reason = f"{key.value} is already used by extension {holder}"
                return _conflict(batch, index, key.path, reason)
        return None

    async def _translate(self, error: IntegrityError, batch: Sequence[Extension]) -> Conflict:
        detail = _postgresql_detail(error)
        if (match := _PG_NUMBER_DETAIL.search(detail)) is not None:
            return _number_taken(batch, match["number"])
        if (match := _PG_KEY_DETAIL.search(detail)) is not None:
            for index, _, key in _keys_of(batch):
                if (key.kind.value, key.value) == (match["kind"], match["value"]):
                    reason = f"{key.value} is already used by another extension"
                    return _conflict(batch, index, key.path, reason)
        if _SQLITE_NUMBER_TAKEN in str(error.orig):
            return _number_taken(batch, None)
        if self._connection.dialect.name == "sqlite":
            # SQLite undid only the failed statement: the holder can be looked up.
            found = await self._held_key(batch)
            if found is not None:
                return found
        return Conflict("", f"a unique value is already used by another extension ({error.orig})")


def _number_taken(batch: Sequence[Extension], number: str | None) -> Conflict:
    numbers = [extension.number for extension in batch]
    if number is None and len(batch) == 1:
        number = numbers[0]
    if number is None:
        return Conflict("number", "an extension number is already taken")
    index = numbers.index(number) if number in numbers else 0
    return _conflict(batch, index, "number", f"extension {number} already exists")


def _postgresql_detail(error: IntegrityError) -> str:
    # asyncpg's exception, kept as the cause, says which key clashed.
    detail = getattr(getattr(error.orig, "__cause__", None), "detail", None)
    return detail if isinstance(detail, str) else ""


def _keys_of(batch: Sequence[Extension]) -> Iterable[tuple[int, Extension, UniqueKey]]:
    for index, extension in enumerate(batch):
        for key in extension.unique_keys():
            yield index, extension, key


def _repeated_key(batch: Sequence[Extension]) -> Conflict | None:
    if len(batch) < 2:
        return None  # an extension's own repeats are refused by the model
    first_holder: dict[tuple[UniqueKind, str], str] = {}
    for index, extension, key in _keys_of(batch):
        holder = first_holder.setdefault((key.kind, key.value), extension.number)
        if holder != extension.number:
            reason = f"{key.value} is also used by extension {holder} in this batch"
            return _conflict(batch, index, key.path, reason)
    return None
