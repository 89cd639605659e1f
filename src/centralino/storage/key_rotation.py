"""Rotating the key of the secrets at rest: a new key first, every document resealed.

Theory of operation. :func:`rotate_key_file` writes a new key in front of
the old ones (so every document stays readable whatever happens), reseals
the database with it (:func:`~.secrets.reseal`), then drops the old keys.
It lives apart from :mod:`.secrets` because it opens a
:class:`~.database.Database`, which itself seals with a
:class:`~.secrets.SecretBox`.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from centralino.storage.database import Database
from centralino.storage.secrets import SecretBox, read_key_file, reseal, write_key_file

__all__ = ["rotate_key_file"]


def _add_new_key(path: Path) -> list[bytes]:
    keys = [Fernet.generate_key(), *(read_key_file(path) if path.exists() else [])]
    write_key_file(path, keys)
    return keys


async def rotate_key_file(path: Path, url: str) -> int:
    """Put a new key first in ``path``, reseal the database at ``url``, drop the old keys.

    Until the reseal commits the file holds the new key and the old ones, so
    an interruption leaves every document readable; run it again to finish.

    Returns:
        How many documents were rewritten.
    """
    keys = _add_new_key(path)
    box = SecretBox(keys)
    database = Database(url, secrets=box)
    try:
        rewritten = await reseal(database.engine, box)
    finally:
        await database.dispose()
    write_key_file(path, keys[:1])
    return rewritten
