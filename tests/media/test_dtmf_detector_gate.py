"""The in-band detector's energy gate and fast path: same answers as Goertzel."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from centralino.media import dtmf_detector
from centralino.media.dtmf import DTMF_DIGITS, DTMF_FREQUENCIES
from centralino.media.dtmf_detector import DetectorSettings, DtmfDetector
from centralino.media.pcm import clip_sample
from centralino.media.tones import goertzel_power, level_to_power, multitone, silence, speech_like

_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)
_DIGIT_AT = {frequencies: digit for digit, frequencies in DTMF_FREQUENCIES.items()}


def _reference(block: array[int], settings: DetectorSettings) -> str | None:
    """The checks of the module docstring, straight from Goertzel, no shortcut."""
    rows = [goertzel_power(block, f) for f in _ROWS]
    columns = [goertzel_power(block, f) for f in _COLUMNS]
    row = max(range(4), key=rows.__getitem__)
    column = max(range(4), key=columns.__getitem__)
    r, c = rows[row], columns[column]
    ratio = lambda db: 10 ** (db / 10)  # noqa: E731
    energy = sum(s * s for s in block) / len(block)
    ok = (
        min(r, c) >= level_to_power(settings.minimum_level_dbfs)
        and r <= c * ratio(settings.normal_twist_db)
        and c <= r * ratio(settings.reverse_twist_db)
        and all(p * ratio(settings.relative_peak_db) <= r for i, p in enumerate(rows) if i != row)
        and all(
            p * ratio(settings.relative_peak_db) <= c for i, p in enumerate(columns) if i != column
        )
        and r + c >= settings.tone_fraction * energy
    )
    return _DIGIT_AT[(_ROWS[row], _COLUMNS[column])] if ok else None


def _block(
    tones: list[tuple[float, float]], noise: float, rng: random.Random, size: int = 102
) -> array[int]:
    """Sines of (frequency, amplitude in full scale) with random phases, plus noise."""
    phases = [rng.uniform(0, 2 * math.pi) for _ in tones]
    return array(
        "h",
        (
            clip_sample(
                32767
                * sum(
                    a * math.sin(2 * math.pi * f * n / 8000 + p)
                    for (f, a), p in zip(tones, phases, strict=True)
                )
                + rng.gauss(0, noise * 32767)
            )
            for n in range(size)
        ),
    )


def _tone_amplitude(level_dbfs: float) -> float:
    return math.sqrt(2 * level_to_power(level_dbfs)) / 32767


def test_quiet_block_is_skipped_before_any_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_filters(*args: object) -> list[float]:
        raise AssertionError("the filters ran on a quiet block")

    monkeypatch.setattr(dtmf_detector, "_powers", no_filters)
    detector = DtmfDetector()
    rng = random.Random(5)
    # A digit whose tones are each 3.5 dB under the floor, digital silence,
    # and quiet noise: all below the gate.
    row, column = DTMF_FREQUENCIES["5"]
    under = _tone_amplitude(-39.5)
    assert detector.classify(_block([(row, under), (column, under)], 0.0, rng)) is None
    assert detector.classify(array("h", bytes(204))) is None
    assert detector.classify(_block([], 10 ** (-45 / 20), rng)) is None
    assert detector.feed(silence(0.5)) == []


def test_gate_is_below_two_tones_at_the_floor() -> None:
    settings = DetectorSettings()
    detector = DtmfDetector(settings)
    bank = detector._bank
    floor = level_to_power(settings.minimum_level_dbfs)
    # The gate is a bound on |s|², a little under twice one tone at the floor.
    assert 0.85 * 2 * floor * 102 < bank.gate < 2 * floor * 102
    # No block under the gate has two tones that reach the floor.
    rng = random.Random(11)
    for _ in range(300):
        frequencies = [rng.choice(_ROWS), rng.choice(_COLUMNS)]
        block = [
            math.cos(2 * math.pi * f * n / 8000 + rng.uniform(0, 6.3))
            for f in frequencies
            for n in range(102)
        ]
        samples = [block[n] + block[102 + n] + rng.gauss(0, 0.05) for n in range(102)]
        norm = sum(s * s for s in samples)
        scaled = [s * math.sqrt(bank.gate / norm) for s in samples]
        powers = [goertzel_power(scaled, f) for f in frequencies]
        assert min(powers) < floor


@pytest.mark.parametrize("digit", list(DTMF_DIGITS))
def test_digit_just_above_the_minimum_level_is_detected(digit: str) -> None:
    # Goertzel on 102 samples reads a tone up to ~0.6 dB low (off-bin; the
    # old detector's thresholds were -36.1 to -35.4 dBFS by digit), so -35.3.
    tone = multitone(DTMF_FREQUENCIES[digit], 0.06, amplitude=_tone_amplitude(-35.3))
    detector = DtmfDetector()
    assert [d.digit for d in detector.feed(tone + silence(0.05))] == [digit]
    quieter = multitone(DTMF_FREQUENCIES[digit], 0.06, amplitude=_tone_amplitude(-36.5))
    assert DtmfDetector().feed(quieter + silence(0.05)) == []


@pytest.mark.parametrize("gain", [300, 3000, 20000])
def test_speech_like_noise_gives_no_digits(gain: int) -> None:
    detector = DtmfDetector()
    pcm = _gate_speech(1.0, seed=gain, gain=gain)
    assert [detector.feed(pcm[i : i + 320]) for i in range(0, len(pcm), 320)] == [[]] * 50


def test_fast_path_agrees_with_goertzel_everywhere() -> None:
    """Random blocks around every threshold: the same verdict as the reference."""
    settings = DetectorSettings()
    detector = DtmfDetector(settings)
    rng = random.Random(2024)
    verdicts = set()
    for _ in range(1500):
        row, column = rng.choice(_ROWS), rng.choice(_COLUMNS)
        level = rng.uniform(-42, -10)
        twist = rng.uniform(-9, 11)
        tones = [
            (row + rng.uniform(-15, 15), _tone_amplitude(level + twist / 2)),
            (column + rng.uniform(-15, 15), _tone_amplitude(level - twist / 2)),
        ]
        if rng.random() < 0.3:  # a third tone, for the peak checks
            tones.append(
                (rng.choice(_ROWS + _COLUMNS), _tone_amplitude(level + rng.uniform(-12, 0)))
            )
        if rng.random() < 0.2:
            tones = tones[rng.randrange(2) :][:1]
        block = _block(tones, 10 ** ((level - rng.uniform(0, 25)) / 20), rng)
        expected = _reference(block, settings)
        assert detector.classify(block) == expected
        verdicts.add(expected is not None)
    assert verdicts == {True, False}


def test_other_block_lengths_still_work() -> None:
    settings = DetectorSettings(block_size=160)
    rng = random.Random(3)
    row, column = DTMF_FREQUENCIES["#"]
    block = _block([(row, 0.1), (column, 0.1)], 0.0, rng, size=160)
    assert DtmfDetector(settings).classify(block) == "#"
    assert DtmfDetector().classify(block) == "#"  # a length other than the settings'


def _gate_speech(duration: float, seed: int, gain: float) -> bytes:
    return speech_like(
        duration,
        seed=seed,
        gain=gain,
        noise=gain / 40,
        pitch=110.0,
        pitch_swing=60.0,
        pitch_rate=2.0,
        pitch_jitter=3.0,
        formant=900.0,
        formant_swing=700.0,
        formant_rate=1.7,
        bandwidth=300.0,
        harmonics=29,
    )
