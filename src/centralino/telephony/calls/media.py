"""The PBX's own voice and ears on a leg it holds (voicemail, screening).

Theory of operation. When the call core answers a caller itself, the media
policy (:class:`~centralino.telephony.media.AnchorSdp`) gives it an opaque
media object; the core passes it on in
:class:`~centralino.calls.io.StartApplication`, and the glue types it with
:class:`PbxMedia` to build the application's
:class:`~centralino.telephony.apps.channel.Channel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from centralino.telephony.apps.channel import Recording

__all__ = ["PbxMedia"]


@runtime_checkable
class PbxMedia(Protocol):
    """The PBX's end of one leg (see the Channel protocol)."""

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play PCM; the interrupting key, or None."""
        ...

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The next key, or None after ``timeout``."""
        ...

    def flush_digits(self) -> None:
        """Forget queued keys."""
        ...

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Record until a stop key, the length limit or the end."""
        ...

    def close(self) -> None:
        """The call ended: wake every waiter with HungUp."""
        ...
