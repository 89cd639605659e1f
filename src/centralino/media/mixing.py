"""Mixing and gain for 16-bit PCM, with saturation.

Call recording mixes the two directions of a call into one track; a
conference (later) gives each member the mix of everyone else
(:func:`mix_minus`). Sums saturate at the 16-bit limits instead of wrapping
around, which would turn an overload into loud noise. Frames of different
lengths are mixed over the longest, the shorter ones padded with silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import add

from .errors import MediaUsageError
from .pcm import SAMPLE_MAX, SAMPLE_MIN, pcm_from_samples, samples_from_pcm

__all__ = ["apply_gain", "decibels_to_gain", "mix", "mix_minus"]


def _saturate(values: list[int]) -> bytes:
    return pcm_from_samples(max(SAMPLE_MIN, min(SAMPLE_MAX, value)) for value in values)


def _sums(frames: Sequence[bytes]) -> list[int]:
    length = max(len(frame) for frame in frames) // 2
    total = [0] * length
    for frame in frames:
        samples = samples_from_pcm(frame)
        total[: len(samples)] = map(add, total, samples)
    return total


def mix(frames: Sequence[bytes]) -> bytes:
    """Add PCM frames sample by sample, saturating at the 16-bit limits.

    Args:
        frames: 16-bit little-endian mono frames (one is returned as is).

    Returns:
        The mix, as long as the longest frame.

    Raises:
        MediaUsageError: no frames, or a frame of odd length.
    """
    if not frames:
        raise MediaUsageError("nothing to mix")
    if len(frames) == 1:
        samples_from_pcm(frames[0])  # validates the length
        return frames[0]
    return _saturate(_sums(frames))


def mix_minus(frames: Sequence[bytes]) -> list[bytes]:
    """Return, for each frame, the mix of all the others (conference feeds).

    Args:
        frames: one frame per member, 16-bit little-endian mono.

    Returns:
        One mix per member, in the same order, each as long as the longest.

    Raises:
        MediaUsageError: fewer than two frames, or a frame of odd length.
    """
    if len(frames) < 2:
        raise MediaUsageError("mix-minus needs at least two members")
    total = _sums(frames)
    feeds = []
    for frame in frames:
        own = samples_from_pcm(frame)
        others = list(total)
        others[: len(own)] = [t - s for t, s in zip(total, own, strict=False)]
        feeds.append(_saturate(others))
    return feeds


def decibels_to_gain(decibels: float) -> float:
    """Return the linear amplitude factor of a gain in dB (+6 dB ≈ ×2)."""
    return float(10 ** (decibels / 20))


def apply_gain(pcm: bytes, gain: float) -> bytes:
    """Scale PCM by a linear factor, rounding and saturating.

    Args:
        pcm: 16-bit little-endian mono audio.
        gain: the amplitude factor (see :func:`decibels_to_gain`).

    Returns:
        The scaled audio.

    Raises:
        MediaUsageError: ``pcm`` has an odd length.
    """
    samples = samples_from_pcm(pcm)
    if gain == 1.0:
        return pcm
    return _saturate([round(sample * gain) for sample in samples])
