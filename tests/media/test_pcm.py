"""The internal PCM format helpers."""

from __future__ import annotations

import pytest

from centralino.media.errors import MediaUsageError
from centralino.media.pcm import (
    FRAME_BYTES,
    clip_sample,
    duration_of,
    pcm_from_samples,
    samples_from_pcm,
    split_frames,
)


def test_samples_are_little_endian() -> None:
    assert pcm_from_samples([1, -2]) == b"\x01\x00\xfe\xff"
    assert list(samples_from_pcm(b"\x01\x00\xfe\xff")) == [1, -2]
    with pytest.raises(MediaUsageError):
        samples_from_pcm(b"\x01")


def test_clip_and_duration() -> None:
    assert [clip_sample(v) for v in (40000.0, -40000.0, 1.6)] == [32767, -32768, 2]
    assert duration_of(bytes(16000)) == 1.0


def test_split_frames_pads_or_drops_the_tail() -> None:
    pcm = bytes(range(256)) * 3  # 768 bytes: 2 frames and 128 bytes
    frames = list(split_frames(pcm))
    assert [len(f) for f in frames] == [FRAME_BYTES] * 3
    assert frames[2] == pcm[640:] + bytes(192)
    assert len(list(split_frames(pcm, pad=False))) == 2
