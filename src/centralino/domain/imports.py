"""A bulk import's extensions, already in the forms they are stored in.

Theory of operation. A CSV file of tens of thousands of extensions is
validated, and each extension serialized (its JSON document, its audit
entry, its change-feed record), *before* the import's transaction opens:
the transaction then only inserts prepared rows. It stays short, which
matters because an SQLite writer locks every other writer out until it
commits, and because serializing 50,000 documents inside it would hold the
write lock (and the process's event loop) for tens of seconds.
:class:`ExtensionImport` is the port that writes the prepared rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from centralino.domain.audit import AuditAction
from centralino.domain.extension import UniqueKey

__all__ = ["ExtensionImport", "PreparedExtension"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedExtension:
    """One new extension and what is written with it, serialized.

    ``document`` is the extension's JSON (``model_dump_json``), the columns
    beside it are its searchable fields, ``keys`` its unique values;
    ``audit_document`` is the audit entry's ``after`` (secrets masked) and
    ``change`` the JSON document of its change-feed event ``change_type``.
    """

    number: str
    first_name: str
    last_name: str
    email: str | None
    mobile: str | None
    keys: tuple[UniqueKey, ...]
    document: str
    audit_document: str
    change_type: str
    change: str


class ExtensionImport(Protocol):
    """Writes prepared extensions inside the unit of work's transaction."""

    async def add(
        self,
        batch: Sequence[PreparedExtension],
        *,
        actor: str,
        at: dt.datetime,
        action: AuditAction,
        resource: str,
    ) -> None:
        """Insert each extension with its unique keys, its audit entry and its change.

        Nothing is looked up first (the caller checked); the database's
        constraints still refuse a number or unique value taken meanwhile.

        Raises:
            Conflict: a number or unique value is already taken.
        """
        ...
