"""Mixing with saturation, mix-minus and gain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.errors import MediaUsageError
from centralino.media.mixing import apply_gain, decibels_to_gain, mix, mix_minus
from centralino.media.pcm import pcm_from_samples, samples_from_pcm
from centralino.media.tones import goertzel_power, sine


def _pcm(*samples: int) -> bytes:
    return pcm_from_samples(samples)


def test_mix_adds_and_saturates() -> None:
    mixed = mix([_pcm(1000, 30000, -30000, -5), _pcm(-400, 10000, -10000, 5)])
    assert list(samples_from_pcm(mixed)) == [600, 32767, -32768, 0]


def test_mix_pads_shorter_frames_and_single_frame() -> None:
    assert list(samples_from_pcm(mix([_pcm(1, 2, 3), _pcm(10)]))) == [11, 2, 3]
    assert mix([_pcm(7, 8)]) == _pcm(7, 8)
    with pytest.raises(MediaUsageError):
        mix([])
    with pytest.raises(MediaUsageError):
        mix([b"\x00"])


def test_recording_mix_holds_both_parties() -> None:
    caller, callee = sine(440, 0.1), sine(1000, 0.1)
    samples = samples_from_pcm(mix([caller, callee]))
    expected = goertzel_power(samples_from_pcm(caller), 440)
    assert goertzel_power(samples, 440) == pytest.approx(expected, rel=0.01)
    assert goertzel_power(samples, 1000) == pytest.approx(expected, rel=0.01)


def test_mix_minus() -> None:
    feeds = mix_minus([_pcm(1, 1), _pcm(10, 10), _pcm(100, 30000, 5)])
    assert [list(samples_from_pcm(f)) for f in feeds] == [
        [110, 30010, 5],
        [101, 30001, 5],
        [11, 11, 0],
    ]
    with pytest.raises(MediaUsageError):
        mix_minus([_pcm(1)])


def test_gain() -> None:
    assert list(samples_from_pcm(apply_gain(_pcm(100, -100, 20000), 2.0))) == [200, -200, 32767]
    assert apply_gain(_pcm(5), 1.0) == _pcm(5)
    assert decibels_to_gain(20) == pytest.approx(10)
    assert decibels_to_gain(-6.0206) == pytest.approx(0.5, rel=1e-4)


@given(st.lists(st.lists(st.integers(-32768, 32767), max_size=20), min_size=1, max_size=4))
def test_mix_equals_clipped_sum(tracks: list[list[int]]) -> None:
    length = max(len(t) for t in tracks)
    expected = [
        max(-32768, min(32767, sum(t[i] if i < len(t) else 0 for t in tracks)))
        for i in range(length)
    ]
    assert list(samples_from_pcm(mix([pcm_from_samples(t) for t in tracks]))) == expected
