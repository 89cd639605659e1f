"""In-band DTMF detection on 8 kHz PCM (ITU-T Q.24 style checks).

The audio is cut into blocks of ``block_size`` samples (102 at 8 kHz, 12.75
ms: short enough to see a 40 ms tone whole in two blocks, long enough that
the Goertzel filters, 78 Hz wide, separate the closest DTMF tones, 697 and
770 Hz). Each block is measured with :func:`~centralino.media.tones.goertzel_power`
at the eight DTMF frequencies and classified as a digit when all hold:

* energy: the strongest row and column tones are each above
  ``minimum_level_dbfs``;
* twist: the row tone is at most ``normal_twist_db`` louder than the column
  tone, and at most ``reverse_twist_db`` quieter;
* peaks: each is ``relative_peak_db`` above the other tones of its group;
* purity: the two tones carry at least ``tone_fraction`` of the block's
  energy (speech and noise spread theirs over many frequencies).

Debounce, over blocks: a digit is reported once it has been seen in
``ceil(minimum_duration / block time)`` consecutive blocks; it can be
reported again only after ``minimum_pause`` without it. A one-block dropout
inside a tone (a noise burst) thus does not repeat the digit.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from .dtmf import DTMF_FREQUENCIES
from .pcm import SAMPLE_RATE, samples_from_pcm
from .tones import goertzel_power, level_to_power

__all__ = ["DetectedDigit", "DetectorSettings", "DtmfDetector"]

_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)
_DIGIT_AT = {frequencies: digit for digit, frequencies in DTMF_FREQUENCIES.items()}


def _ratio(decibels: float) -> float:
    return float(10 ** (decibels / 10))


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorSettings:
    """Thresholds of the in-band detector (defaults suit telephone audio)."""

    sample_rate: int = SAMPLE_RATE
    block_size: int = 102
    minimum_level_dbfs: float = -36.0
    normal_twist_db: float = 8.0
    reverse_twist_db: float = 6.0
    relative_peak_db: float = 6.0
    tone_fraction: float = 0.6
    minimum_duration: float = 0.025
    minimum_pause: float = 0.025
    _block_time: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_block_time", self.block_size / self.sample_rate)

    @property
    def on_blocks(self) -> int:
        """Consecutive blocks a digit must last to be reported."""
        return max(1, math.ceil(self.minimum_duration / self._block_time - 1e-9))

    @property
    def off_blocks(self) -> int:
        """Consecutive blocks without the digit before it may be reported again."""
        return max(1, math.ceil(self.minimum_pause / self._block_time - 1e-9))


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectedDigit:
    """A digit heard in the audio, ``start`` seconds after the first sample fed."""

    digit: str
    start: float


class DtmfDetector:
    """Detects DTMF digits in a stream of PCM fed in pieces of any size.

    Args:
        settings: the thresholds; the defaults when omitted.
    """

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self._pending = array("h")
        self._blocks_seen = 0
        self._candidate: str | None = None
        self._run = 0
        self._absent = 0
        self._reported: str | None = None
        self._floor = level_to_power(self.settings.minimum_level_dbfs)

    def feed(self, pcm: bytes) -> list[DetectedDigit]:
        """Analyse more audio.

        Args:
            pcm: 16-bit little-endian mono PCM at ``settings.sample_rate``.

        Returns:
            The digits whose detection completed within this audio.
        """
        self._pending.extend(samples_from_pcm(pcm))
        size = self.settings.block_size
        detected = []
        start = 0
        while start + size <= len(self._pending):
            digit = self.classify(self._pending[start : start + size])
            found = self._debounce(digit)
            if found is not None:
                detected.append(found)
            start += size
        del self._pending[:start]
        return detected

    def classify(self, block: array[int]) -> str | None:
        """Return the digit one block holds, or None (no state is changed).

        Args:
            block: ``settings.block_size`` samples.

        Returns:
            The digit, or None when any check fails.
        """
        settings = self.settings
        rate = settings.sample_rate
        rows = [goertzel_power(block, f, sample_rate=rate) for f in _ROWS]
        columns = [goertzel_power(block, f, sample_rate=rate) for f in _COLUMNS]
        row = max(range(4), key=rows.__getitem__)
        column = max(range(4), key=columns.__getitem__)
        row_power, column_power = rows[row], columns[column]
        if min(row_power, column_power) < self._floor:
            return None
        if not (
            row_power <= column_power * _ratio(settings.normal_twist_db)
            and column_power <= row_power * _ratio(settings.reverse_twist_db)
        ):
            return None
        peak = _ratio(settings.relative_peak_db)
        if any(p * peak > row_power for i, p in enumerate(rows) if i != row):
            return None
        if any(p * peak > column_power for i, p in enumerate(columns) if i != column):
            return None
        energy = sum(sample * sample for sample in block) / len(block)
        if row_power + column_power < settings.tone_fraction * energy:
            return None
        return _DIGIT_AT[(_ROWS[row], _COLUMNS[column])]

    def _debounce(self, digit: str | None) -> DetectedDigit | None:
        self._blocks_seen += 1
        if digit == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run = digit, 1
        if self._reported is not None:
            self._absent = 0 if digit == self._reported else self._absent + 1
            if self._absent >= self.settings.off_blocks:
                self._reported = None
        if digit is None or digit == self._reported or self._run < self.settings.on_blocks:
            return None
        self._reported, self._absent = digit, 0
        start = (self._blocks_seen - self._run) * self.settings.block_size
        return DetectedDigit(digit=digit, start=start / self.settings.sample_rate)
