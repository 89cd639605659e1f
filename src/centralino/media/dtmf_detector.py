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

Cost (every RTP packet of a call answered in-band goes through here, in pure
Python): a block whose energy is too low to hold two tones at
``minimum_level_dbfs`` is rejected on its energy alone (an exact bound, see
:class:`_Bank`: silence and quiet speech cost almost nothing). Otherwise the
column powers are measured first and the block is rejected as soon as a check
fails; the row powers only when the columns could belong to a digit. Each
power is two correlations with precomputed cosine and sine tables, each run
in C by :func:`math.dist` (``p·q = (|p|² + |q|² − |p − q|²) / 2``), about
ten times cheaper than the per-sample Goertzel recurrence of
:func:`~centralino.media.tones.goertzel_power`, which it matches to ~1e-11.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from math import dist

from .dtmf import DTMF_FREQUENCIES
from .pcm import SAMPLE_RATE, samples_from_pcm
from .tones import level_to_power

__all__ = ["DetectedDigit", "DetectorSettings", "DtmfDetector"]

_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)
_DIGIT_AT = {frequencies: digit for digit, frequencies in DTMF_FREQUENCIES.items()}
#: Relative slack of the energy gate against rounding (the powers agree with
#: the Goertzel recurrence to ~1e-11).
_GATE_SLACK = 1e-6

# One frequency's tables: cosines, sines, and the squares of their norms.
_Filter = tuple[tuple[float, ...], tuple[float, ...], float, float]


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


def _filter(frequency: float, size: int, rate: int) -> _Filter:
    omega = 2 * math.pi * frequency / rate
    cosines = tuple(math.cos(omega * n) for n in range(size))
    sines = tuple(math.sin(omega * n) for n in range(size))
    return (
        cosines,
        sines,
        math.fsum(c * c for c in cosines),
        math.fsum(s * s for s in sines),
    )


class _Bank:
    """The eight filters for one block length, and the energy gate.

    The gate: with ``A`` the 4 x N matrix of one row's and one column's
    cosine and sine tables, the two tone powers of a block ``s`` sum to
    ``2 |A s|² / N²``, at most ``2 λ |s|² / N²`` with ``λ`` the largest
    eigenvalue of ``A Aᵀ`` (bounded here by Gershgorin's theorem: the largest
    absolute row sum, ~N/2). Both tones at or above the floor thus need
    ``|s|² >= floor N² / λ``, about twice the energy of one tone at the
    floor; any block below that (for every row and column pair) is no digit.
    """

    __slots__ = ("columns", "gate", "rows", "scale", "size", "zeros")

    def __init__(self, size: int, rate: int, floor: float) -> None:
        self.size = size
        self.zeros = (0.0,) * size
        self.rows = tuple(_filter(f, size, rate) for f in _ROWS)
        self.columns = tuple(_filter(f, size, rate) for f in _COLUMNS)
        # power = 2 (C² + S²) / N² with C, S the correlations; x = 2C, y = 2S.
        self.scale = 1 / (2 * size * size)
        largest = max(
            _gershgorin([row[0], row[1], column[0], column[1]])
            for row in self.rows
            for column in self.columns
        )
        self.gate = floor * size * size / largest * (1 - _GATE_SLACK)


def _gershgorin(vectors: list[tuple[float, ...]]) -> float:
    """Upper bound of the largest eigenvalue of the vectors' Gram matrix."""
    return max(
        math.fsum(abs(math.fsum(map(float.__mul__, u, v))) for v in vectors) for u in vectors
    )


def _powers(samples: tuple[float, ...], norm: float, filters: tuple[_Filter, ...]) -> list[float]:
    """Return ``2 |X(f)|²`` per filter (``norm``: the squared norm of ``samples``)."""
    powers = []
    for cosines, sines, cosine_norm, sine_norm in filters:
        to_cosines = dist(samples, cosines)
        to_sines = dist(samples, sines)
        real = norm + cosine_norm - to_cosines * to_cosines
        imaginary = norm + sine_norm - to_sines * to_sines
        powers.append(real * real + imaginary * imaginary)
    return powers


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
        self._banks: dict[int, _Bank] = {}
        self._bank = self._bank_for(self.settings.block_size)
        settings = self.settings
        self._normal_twist = _ratio(settings.normal_twist_db)
        self._reverse_twist = _ratio(settings.reverse_twist_db)
        self._peak = _ratio(settings.relative_peak_db)

    def _bank_for(self, size: int) -> _Bank:
        bank = self._banks.get(size)
        if bank is None:
            bank = self._banks[size] = _Bank(size, self.settings.sample_rate, self._floor)
        return bank

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
        bank = self._bank if len(block) == self._bank.size else self._bank_for(len(block))
        norm = dist(block, bank.zeros)
        norm *= norm
        if norm < bank.gate:
            return None  # too quiet for two tones at the floor
        samples = tuple(map(float, block))
        # The checks of the module docstring, columns first: speech, the
        # usual loud sound, carries less there and is mostly rejected before
        # the rows are measured. (All checks must hold, so the order does
        # not change the outcome.)
        scale = bank.scale
        floor = self._floor
        peak = self._peak
        wanted = self.settings.tone_fraction * norm / len(block)  # of the block's energy
        columns = _powers(samples, norm, bank.columns)
        column = max(range(4), key=columns.__getitem__)
        column_power = columns[column] * scale
        if column_power < floor or column_power * (1 + self._normal_twist) < wanted:
            return None  # the row tone is at most normal_twist louder
        if any(p * peak > columns[column] for i, p in enumerate(columns) if i != column):
            return None
        rows = _powers(samples, norm, bank.rows)
        row = max(range(4), key=rows.__getitem__)
        row_power = rows[row] * scale
        if row_power < floor:
            return None
        if not (
            row_power <= column_power * self._normal_twist
            and column_power <= row_power * self._reverse_twist
        ):
            return None
        if any(p * peak > rows[row] for i, p in enumerate(rows) if i != row):
            return None
        if row_power + column_power < wanted:
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
