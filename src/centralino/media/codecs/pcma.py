"""G.711 A-law (PCMA, static payload type 8, RFC 3551 §4.5.14)."""

from __future__ import annotations

from .base import Codec
from .g711 import Law, decode_with, encode_with

__all__ = ["PcmaCodec"]


class PcmaCodec(Codec):
    """G.711 A-law at 8 kHz: one byte per sample, 160 bytes per 20 ms."""

    name = "PCMA"
    payload_type = 8

    def encode(self, pcm: bytes) -> bytes:
        """Encode 16-bit PCM to A-law (see :meth:`Codec.encode`)."""
        return encode_with(Law.ALAW, pcm)

    def decode(self, payload: bytes) -> bytes:
        """Decode A-law to 16-bit PCM (see :meth:`Codec.decode`)."""
        return decode_with(Law.ALAW, payload)
