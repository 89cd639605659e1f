"""Tone generators and single-frequency power measurement.

Generators return 8 kHz (or ``sample_rate``) 16-bit little-endian mono PCM
(:mod:`centralino.media.pcm`): sine tones for the voicemail beep, dual tones
for in-band DTMF, silence, and a speech-like test signal (voiced sound: what
a DTMF detector must not take for a key). Amplitudes are fractions of full scale (1.0 is a
sine peaking at 32767); sums that exceed full scale saturate.

:func:`goertzel_power` measures the mean-square power of one frequency
component (a full-scale sine gives ``32767**2 / 2``) with the Goertzel
recurrence, a second-order filter: the squared magnitude of the DFT at that
frequency, which need not fall on a DFT bin. The in-band DTMF detector and
the tests use it. (Correlating with precomputed cosine/sine tables through
``sum(map(mul, ...))`` was measured twice as slow in CPython 3.11.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from .pcm import SAMPLE_RATE, clip_sample, pcm_from_samples

__all__ = [
    "BEEP_FREQUENCY",
    "FULL_SCALE_POWER",
    "beep",
    "goertzel_power",
    "level_to_power",
    "multitone",
    "silence",
    "sine",
    "speech_like",
]

BEEP_FREQUENCY = 1000.0
#: Mean-square power of a full-scale sine: the 0 dBFS reference.
FULL_SCALE_POWER = 32767.0**2 / 2


def level_to_power(level_dbfs: float) -> float:
    """Return the mean-square power of a sine at ``level_dbfs`` (0 = full scale)."""
    return FULL_SCALE_POWER * 10 ** (level_dbfs / 10)


def multitone(
    frequencies: Sequence[float],
    duration: float,
    *,
    amplitude: float = 0.3,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """Generate the sum of sines of equal amplitude.

    Args:
        frequencies: the tone frequencies in Hz.
        duration: length in seconds.
        amplitude: peak of each sine, as a fraction of full scale.
        sample_rate: samples per second.

    Returns:
        16-bit little-endian mono PCM, saturated to full scale.
    """
    count = round(duration * sample_rate)
    peak = amplitude * 32767
    steps = [2 * math.pi * f / sample_rate for f in frequencies]
    return pcm_from_samples(
        clip_sample(peak * sum(math.sin(step * n) for step in steps)) for n in range(count)
    )


def sine(
    frequency: float, duration: float, *, amplitude: float = 0.3, sample_rate: int = SAMPLE_RATE
) -> bytes:
    """Generate one sine tone (see :func:`multitone` for the arguments)."""
    return multitone([frequency], duration, amplitude=amplitude, sample_rate=sample_rate)


def silence(duration: float, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Generate ``duration`` seconds of digital silence."""
    return bytes(2 * round(duration * sample_rate))


def beep(duration: float = 0.25, *, amplitude: float = 0.3) -> bytes:
    """Generate the voicemail "start speaking" beep (1 kHz)."""
    return sine(BEEP_FREQUENCY, duration, amplitude=amplitude)


def goertzel_power(
    samples: Sequence[float], frequency: float, *, sample_rate: int = SAMPLE_RATE
) -> float:
    """Return the mean-square power of ``frequency`` in ``samples`` (Goertzel).

    Args:
        samples: the block (any length > 0).
        frequency: the frequency to measure, in Hz (need not be a DFT bin).
        sample_rate: samples per second.

    Returns:
        ``2 |X(f)|² / N²``: a sine of amplitude A at ``frequency`` gives A²/2.
    """
    omega = 2 * math.pi * frequency / sample_rate
    coefficient = 2 * math.cos(omega)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    real = previous - before * math.cos(omega)
    imaginary = before * math.sin(omega)
    return 2 * (real * real + imaginary * imaginary) / len(samples) ** 2


def speech_like(
    duration: float,
    *,
    seed: int,
    gain: float = 8000.0,
    noise: float = 300.0,
    pitch: float = 140.0,
    pitch_swing: float = 40.0,
    pitch_rate: float = 3.0,
    pitch_jitter: float = 2.0,
    formant: float = 700.0,
    formant_swing: float = 500.0,
    formant_rate: float = 2.3,
    bandwidth: float = 400.0,
    harmonics: int = 24,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """Voiced sound: a wandering pitch with harmonics under a moving formant, plus noise.

    The same ``seed`` (and arguments) gives the same PCM. The pitch moves by
    ``pitch_swing`` Hz ``pitch_rate`` times a second (and ``pitch_jitter`` Hz
    at random); each harmonic is weighted by a Gaussian formant of
    ``bandwidth`` Hz centred on a frequency that sweeps by ``formant_swing``
    Hz ``formant_rate`` times a second; Gaussian noise of ``noise`` is added.
    """
    generator = random.Random(seed)
    samples = []
    phase = 0.0
    for n in range(round(duration * sample_rate)):
        t = n / sample_rate
        wander = pitch_swing * math.sin(2 * math.pi * pitch_rate * t)
        f0 = pitch + wander + generator.uniform(-pitch_jitter, pitch_jitter)
        phase += 2 * math.pi * f0 / sample_rate
        centre = formant + formant_swing * math.sin(2 * math.pi * formant_rate * t)
        value = sum(
            math.sin(k * phase) / k * math.exp(-(((k * f0 - centre) / bandwidth) ** 2))
            for k in range(1, harmonics + 1)
        )
        samples.append(clip_sample(gain * value + generator.gauss(0, noise)))
    return pcm_from_samples(samples)
