"""G.711 codecs: bit-exact known values, the registry, round-trip error bounds."""

from __future__ import annotations

import contextlib
import importlib
import warnings
from array import array
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.codecs import Codec, CodecRegistry, PcmaCodec, PcmuCodec, default_codecs
from centralino.media.codecs.g711 import (
    alaw_decode_sample,
    alaw_encode_sample,
    ulaw_decode_sample,
    ulaw_encode_sample,
)
from centralino.media.errors import MediaUsageError
from centralino.media.pcm import pcm_from_samples, samples_from_pcm

ALL_SAMPLES = pcm_from_samples(range(-32768, 32768))
ALL_CODES = bytes(range(256))

# (sample, code, decoded): the G.191 reference code (and audioop) give these.
ULAW_VECTORS = [
    (0, 0xFF, 0),
    (-1, 0x7E, -8),
    (8, 0xFE, 8),
    (1000, 0xCE, 988),
    (-1000, 0x4E, -988),
    (32767, 0x80, 32124),
    (-32768, 0x00, -32124),
]
ALAW_VECTORS = [
    (0, 0xD5, 8),
    (-1, 0x55, -8),
    (1000, 0xFA, 1008),
    (-1000, 0x7A, -1008),
    (32767, 0xAA, 32256),
    (-32768, 0x2A, -32256),
]


@pytest.mark.parametrize(("sample", "code", "decoded"), ULAW_VECTORS)
def test_ulaw_known_values(sample: int, code: int, decoded: int) -> None:
    codec = PcmuCodec()
    assert codec.encode(pcm_from_samples([sample])) == bytes([code])
    assert samples_from_pcm(codec.decode(bytes([code])))[0] == decoded


@pytest.mark.parametrize(("sample", "code", "decoded"), ALAW_VECTORS)
def test_alaw_known_values(sample: int, code: int, decoded: int) -> None:
    codec = PcmaCodec()
    assert codec.encode(pcm_from_samples([sample])) == bytes([code])
    assert samples_from_pcm(codec.decode(bytes([code])))[0] == decoded


@pytest.mark.parametrize(
    ("codec", "encode", "decode"),
    [
        (PcmuCodec(), ulaw_encode_sample, ulaw_decode_sample),
        (PcmaCodec(), alaw_encode_sample, alaw_decode_sample),
    ],
)
def test_tables_match_the_per_sample_reference(
    codec: Codec, encode: Callable[[int], int], decode: Callable[[int], int]
) -> None:
    assert codec.encode(ALL_SAMPLES) == bytes(encode(s) for s in range(-32768, 32768))
    assert list(samples_from_pcm(codec.decode(ALL_CODES))) == [decode(c) for c in ALL_CODES]


def test_bit_exact_with_audioop_when_available() -> None:
    audioop: Any = None
    with warnings.catch_warnings(), contextlib.suppress(ImportError):
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = importlib.import_module("audioop")
    if audioop is None:
        pytest.skip("audioop is gone (Python 3.13+)")
    assert PcmuCodec().encode(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)
    assert PcmaCodec().encode(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES, 2)
    assert PcmuCodec().decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert PcmaCodec().decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize("codec", [PcmuCodec(), PcmaCodec()])
def test_decode_then_encode_is_identity_on_codes(codec: Codec) -> None:
    # Every code decodes to the centre of its own quantisation interval,
    # except the two zeros of mu-law (0x7F and 0xFF both decode to 0).
    again = codec.encode(codec.decode(ALL_CODES))
    differing = [c for c in ALL_CODES if again[c] != c]
    assert differing in ([], [0x7F])


@given(st.integers(-32768, 32767))
def test_round_trip_error_within_quantisation(sample: int) -> None:
    # G.711 segments double their step every segment: the error is at most
    # half a step, which is under 1/32 of the magnitude plus the finest step.
    for codec, finest in ((PcmuCodec(), 8), (PcmaCodec(), 16)):
        decoded = samples_from_pcm(codec.decode(codec.encode(pcm_from_samples([sample]))))[0]
        clipped = max(
            -32124 if finest == 8 else -32256, min(32124 if finest == 8 else 32256, sample)
        )
        assert abs(decoded - clipped) <= abs(clipped) / 32 + finest


def test_registry_by_name_and_payload_type() -> None:
    registry = default_codecs()
    assert isinstance(registry.by_name("pcmu"), PcmuCodec)
    assert isinstance(registry.by_payload_type(8), PcmaCodec)
    assert registry.by_payload_type(18) is None
    assert registry.by_name("opus") is None
    assert [codec.name for codec in registry] == ["PCMU", "PCMA"]
    assert len(registry) == 2
    assert "PCMU/8000 pt=0" in repr(registry.by_name("PCMU"))
    with pytest.raises(MediaUsageError, match="already registered"):
        registry.register(PcmuCodec())
    with pytest.raises(MediaUsageError, match="payload type 8"):
        CodecRegistry((PcmaCodec(),)).register(_OtherLaw())


class _OtherLaw(PcmaCodec):
    name = "X-LAW"


def test_odd_pcm_is_local_misuse() -> None:
    with pytest.raises(MediaUsageError, match="odd length"):
        PcmuCodec().encode(b"\x00")


def test_frame_sizes() -> None:
    pcm = array("h", [1000] * 160).tobytes()
    assert len(PcmuCodec().encode(pcm)) == PcmuCodec.frame_samples == 160
    assert PcmaCodec.clock_rate == 8000
