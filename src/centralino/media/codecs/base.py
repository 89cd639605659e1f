"""The codec interface and the registry that finds codecs by name or type.

A :class:`Codec` converts between the internal PCM format (8 kHz 16-bit
little-endian mono, :mod:`centralino.media.pcm`) and one RTP payload format.
Codecs are stateless here (G.711 is sample by sample), so one instance
serves every call. A :class:`CodecRegistry` is built by the composition root
(:func:`centralino.media.codecs.default_codecs`), never a module global:
tests and deployments may register a different set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from ..errors import MediaUsageError

__all__ = ["Codec", "CodecRegistry"]


class Codec(ABC):
    """One audio payload format (RFC 3551 names and static payload types)."""

    #: The encoding name as written in SDP ``a=rtpmap`` (``PCMU``).
    name: str
    #: The static payload type (RFC 3551 table 4), or None for dynamic ones.
    payload_type: int | None
    #: RTP timestamp units per second.
    clock_rate: int = 8000
    #: Samples in one packet's worth of audio (20 ms by default).
    frame_samples: int = 160

    @abstractmethod
    def encode(self, pcm: bytes) -> bytes:
        """Encode 16-bit little-endian mono PCM.

        Args:
            pcm: the audio, an even number of bytes.

        Returns:
            The RTP payload.

        Raises:
            MediaUsageError: ``pcm`` has an odd length.
        """

    @abstractmethod
    def decode(self, payload: bytes) -> bytes:
        """Decode an RTP payload to 16-bit little-endian mono PCM.

        Args:
            payload: the RTP payload.

        Returns:
            The audio.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}/{self.clock_rate} pt={self.payload_type}>"


class CodecRegistry:
    """Codecs by case-insensitive name and by static payload type."""

    def __init__(self, codecs: tuple[Codec, ...] = ()) -> None:
        self._by_name: dict[str, Codec] = {}
        self._by_payload_type: dict[int, Codec] = {}
        for codec in codecs:
            self.register(codec)

    def register(self, codec: Codec) -> None:
        """Add a codec.

        Args:
            codec: the codec; its name and static payload type must be new.

        Raises:
            MediaUsageError: the name or payload type is already taken.
        """
        key = codec.name.upper()
        if key in self._by_name:
            raise MediaUsageError(f"codec {codec.name} is already registered")
        if codec.payload_type is not None and codec.payload_type in self._by_payload_type:
            raise MediaUsageError(f"payload type {codec.payload_type} is already registered")
        self._by_name[key] = codec
        if codec.payload_type is not None:
            self._by_payload_type[codec.payload_type] = codec

    def by_name(self, name: str) -> Codec | None:
        """Return the codec called ``name`` (any case), or None."""
        return self._by_name.get(name.upper())

    def by_payload_type(self, payload_type: int) -> Codec | None:
        """Return the codec with static payload type ``payload_type``, or None."""
        return self._by_payload_type.get(payload_type)

    def __iter__(self) -> Iterator[Codec]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
