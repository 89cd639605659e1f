"""Secrets encrypted at rest: the SMTP password and the integrations' URLs.

Theory of operation. Every JSON document goes through the engine's JSON
serializer on its way into the database and through its deserializer on the
way out (``Database`` builds the engine with :meth:`SecretBox.dumps` and
:meth:`SecretBox.loads`). There, and only there, the string value of every
key named in :data:`SECRET_KEYS` is replaced by ``sealed:<Fernet token>`` and
back, whichever table holds the document (settings, extensions, the change
feed, the audit trail) and whichever code path wrote it (a use-case, a bulk
import). Repositories, the domain and the API see plain text: the secret is
protected from whoever reads the database file or a backup of it, not from
the PBX itself, which needs the value to log in to the mail server.

A document without such a key (almost every one: an extension without
integration URLs) is recognised by one regular-expression search and stored
as it is, so bulk imports pay nothing. A value stored before encryption was
switched on reads as it is and is sealed on its next write (or at once by
``centralino secrets rotate``).

The key file (``DATA_DIR/secrets.key``, mode 0600) holds Fernet keys, one a
line, newest first: the first seals, every one opens (``MultiFernet``), so a
rotation adds a key at the top, reseals every document (:func:`reseal`) and
then drops the old keys.

SIP passwords (``auth_password``) and voicemail PINs are not sealed: phones
and the digest check need them in clear, on every REGISTER; they are
protected by the file modes (the data directory 0700, the database 0600).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic_core import from_json
from sqlalchemy import JSON, String, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from centralino.storage.documents import JsonText

__all__ = [
    "SEALED_PREFIX",
    "SECRET_KEYS",
    "SecretBox",
    "SecretsUnreadable",
    "read_key_file",
    "reseal",
    "write_key_file",
]

SEALED_PREFIX = "sealed:"
"""What a sealed value starts with (a Fernet token follows)."""

SECRET_KEYS = frozenset({"password", "url", "crm_lookup_url", "crm_journal_url"})
"""Keys whose string values are sealed, at any depth of any document: the SMTP
password (``smtp.password``, also inside ``SettingsChanged`` on the feed) and
the integrations' URLs, which commonly carry an API token
(``integrations.crm_lookup_url``, ``crm_journal_url``, ``webhooks[].url``)."""

_SECRET_VALUE = re.compile(
    r'"(?:' + "|".join(sorted(SECRET_KEYS)) + r')"\s*:\s*"' + r"|" + re.escape(f'"{SEALED_PREFIX}')
)
"""A document worth walking: a secret key with a string value, or a sealed value."""

_COMPACT_NEEDLES = ('"password":"', 'url":"')
"""A secret key with a string value in compact JSON (what the engine writes),
by plain substring search: faster than the expression (2 µs for an extension's
document), which counts in bulk imports. Documents written are never sealed
already."""


def _may_hold_secret(text: str) -> bool:
    return any(needle in text for needle in _COMPACT_NEEDLES)


class SecretsUnreadable(RuntimeError):
    """A sealed value that none of the keys opens (a key file from elsewhere)."""


class SecretBox:
    """Seals and opens the secret values of JSON documents.

    Args:
        keys: Fernet keys, newest first (the first one seals); none: values are
            stored in clear and a sealed value found in the database raises
            :class:`SecretsUnreadable`.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys]) if keys else None

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        """The box of a key file, created (mode 0600, one new key) when missing."""
        if not path.exists():
            write_key_file(path, [Fernet.generate_key()])
        return cls(read_key_file(path))

    def seal(self, value: str) -> str:
        """``sealed:<token>`` for ``value`` (``value`` itself without a key)."""
        if self._fernet is None:
            return value
        return SEALED_PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, value: str) -> str:
        """The clear text of a sealed value; any other value as it is.

        Raises:
            SecretsUnreadable: the value is sealed and no key opens it.
        """
        if not value.startswith(SEALED_PREFIX):
            return value
        if self._fernet is None:
            raise SecretsUnreadable("an encrypted secret is stored but no key is configured")
        try:
            return self._fernet.decrypt(value[len(SEALED_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretsUnreadable(
                "an encrypted secret is stored that secrets.key cannot open "
                "(every node sharing the database needs the same key file)"
            ) from exc

    def dumps(self, value: object) -> str:
        """The engine's JSON serializer: secret values sealed.

        ``JsonText`` (already serialized) is kept as is unless it holds a secret.
        """
        text = str(value) if isinstance(value, JsonText) else _dump(value)
        if self._fernet is None or not _may_hold_secret(text):
            return text
        return _dump(_walk(json.loads(text), self.seal))

    def loads(self, text: str | bytes) -> Any:
        """The engine's JSON deserializer: sealed values opened.

        Raises:
            SecretsUnreadable: a sealed value that no key opens.
        """
        document = from_json(text)  # pydantic's parser: 40% quicker than json.loads
        as_text = text if isinstance(text, str) else text.decode()
        if SEALED_PREFIX not in as_text:
            return document
        return _walk(document, self.open)


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _walk(document: Any, change: Any) -> Any:
    if isinstance(document, list):
        return [_walk(item, change) for item in document]
    if not isinstance(document, dict):
        return document
    return {
        key: change(value)
        if key in SECRET_KEYS and isinstance(value, str)
        else _walk(value, change)
        for key, value in document.items()
    }


def read_key_file(path: Path) -> list[bytes]:
    """The keys of a key file, newest first (blank lines ignored)."""
    return [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Write ``keys`` (newest first) atomically, mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{key.decode()}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


async def reseal(engine: AsyncEngine, box: SecretBox) -> int:
    """Rewrite every stored document that holds a secret, sealed with the newest key.

    ``engine`` must seal with ``box`` (``Database(url, secrets=box)``). Values
    sealed with an older key of the box, or stored in clear, come out sealed
    with its first key. Every JSON column of every table is scanned.

    Returns:
        How many documents were rewritten.
    """
    from centralino.storage.tables import metadata

    rewritten = 0
    async with engine.begin() as connection:
        for table in metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            for column in (c for c in table.columns if isinstance(c.type, JSON)):
                text = cast(column, String)
                likely = or_(*(text.like(f"%{word}%") for word in ("password", "url", "sealed:")))
                statement = select(*keys, text).where(column.is_not(None), likely)
                for *key_values, raw in (await connection.execute(statement)).all():
                    if raw is None or not _SECRET_VALUE.search(raw):
                        continue
                    where = [key == value for key, value in zip(keys, key_values, strict=True)]
                    document = box.loads(raw)
                    statement_update = update(table).where(*where).values({column.name: document})
                    await connection.execute(statement_update)
                    rewritten += 1
    return rewritten
