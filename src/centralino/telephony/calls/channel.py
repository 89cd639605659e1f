"""The Channel of a call the PBX answered: its media half and its signalling half.

Theory of operation. When the call core starts an application
(:class:`~centralino.calls.io.StartApplication`) or reports the screened
callee's answer (:class:`~centralino.calls.io.DialDone`), the glue wraps
the media the core names in a :class:`CallChannel`: playing, keys and
recording go to the media (the PBX's endpoint on that leg), hanging up
goes back to the core as an event. When the party hangs up, the core ends
the call, the media policy closes the endpoint and the application's next
wait raises :class:`~centralino.telephony.apps.channel.HungUp`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from centralino.domain.extension import Extension
from centralino.telephony.apps.channel import Recording
from centralino.telephony.calls.media import PbxMedia

__all__ = ["CallChannel"]


class CallChannel:
    """The :class:`~centralino.telephony.apps.channel.Channel` of one held leg."""

    def __init__(self, media: PbxMedia, hang_up: Callable[[], None], *, party: Extension) -> None:
        self._party = party
        self._media = media
        self._hang_up = hang_up

    @property
    def caller(self) -> str:
        """The number of the phone on this channel (the caller, or a screened callee)."""
        return self._party.number

    @property
    def caller_name(self) -> str | None:
        """Its name, when the extension has one."""
        name = f"{self._party.first_name} {self._party.last_name}".strip()
        return name or None

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play PCM to the phone."""
        return await self._media.play(pcm, interrupt=interrupt)

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The phone's next key."""
        return await self._media.get_digit(timeout)

    def flush_digits(self) -> None:
        """Forget queued keys."""
        self._media.flush_digits()

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Record the phone."""
        return await self._media.record(
            max_seconds=max_seconds, stop_keys=stop_keys, silence_seconds=silence_seconds
        )

    async def hang_up(self) -> None:
        """The PBX hangs up (BYE)."""
        self._hang_up()
        self._media.close()
