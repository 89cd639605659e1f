"""WAV files in the data directory: ``root/<kind>/<owner>/<item>.wav``.

Writes are atomic (a temporary file in the same directory, then a rename),
so a reader never sees half a file; every file operation runs in a worker
thread so that the event loop never waits on the disk. Files are created
0600 and directories 0700: they are the owner's alone. Owners and items are
single path segments of safe characters: anything else (``..``, a slash, a
NUL) is refused with ``ValueError`` before the file system is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path

from centralino.domain.ports import AudioKind

__all__ = ["FileAudioArchive"]

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,199}")


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise ValueError(f"unsafe audio {what} {value!r}")
    return value


class FileAudioArchive:
    """``AudioArchive`` on a directory (created on the first write).

    Args:
        root: the directory holding one sub-directory per :class:`AudioKind`.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        """The archive's directory."""
        return self._root

    def path(self, kind: AudioKind, owner: str, item: str) -> Path:
        """Where the file of ``item`` lives.

        Raises:
            ValueError: ``owner`` or ``item`` is not one safe path segment.
        """
        folder = AudioKind(kind).value
        return self._root / folder / _segment(owner, "owner") / f"{_segment(item, 'item')}.wav"

    async def write(self, kind: AudioKind, owner: str, item: str, wav: bytes) -> None:
        """Store (or replace) a file, atomically."""
        await asyncio.to_thread(_write_atomically, self.path(kind, owner, item), wav)

    async def read(self, kind: AudioKind, owner: str, item: str) -> bytes | None:
        """The file's bytes, or None when there is none."""
        return await asyncio.to_thread(_read, self.path(kind, owner, item))

    async def delete(self, kind: AudioKind, owner: str, item: str) -> None:
        """Remove a file (nothing when it is already gone)."""
        await asyncio.to_thread(_delete, self.path(kind, owner, item))


def _make_directories(directory: Path) -> None:
    """``mkdir -p`` with every directory created 0700 (``Path.mkdir`` gives parents 0777)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer was first
            path.mkdir(mode=0o700)


def _write_atomically(target: Path, data: bytes) -> None:
    _make_directories(target.parent)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # mkstemp's mode already; kept explicit
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only when empty
