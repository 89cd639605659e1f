"""G.711 mu-law (PCMU, static payload type 0, RFC 3551 §4.5.14)."""

from __future__ import annotations

from .base import Codec
from .g711 import Law, decode_with, encode_with

__all__ = ["PcmuCodec"]


class PcmuCodec(Codec):
    """G.711 mu-law at 8 kHz: one byte per sample, 160 bytes per 20 ms."""

    name = "PCMU"
    payload_type = 0

    def encode(self, pcm: bytes) -> bytes:
        """Encode 16-bit PCM to mu-law (see :meth:`Codec.encode`)."""
        return encode_with(Law.ULAW, pcm)

    def decode(self, payload: bytes) -> bytes:
        """Decode mu-law to 16-bit PCM (see :meth:`Codec.decode`)."""
        return decode_with(Law.ULAW, payload)
