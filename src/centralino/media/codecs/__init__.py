"""Audio codecs behind one interface, found through a registry.

Use :func:`default_codecs` in the composition root to get a registry with
G.711 mu-law (PCMU) and A-law (PCMA).
"""

from __future__ import annotations

from .base import Codec, CodecRegistry
from .pcma import PcmaCodec
from .pcmu import PcmuCodec

__all__ = ["Codec", "CodecRegistry", "PcmaCodec", "PcmuCodec", "default_codecs"]


def default_codecs() -> CodecRegistry:
    """Return a new registry holding the codecs Centralino ships (PCMU, PCMA)."""
    return CodecRegistry((PcmuCodec(), PcmaCodec()))
