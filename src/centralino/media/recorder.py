"""Call recording: the two directions of a call on one sample clock, mixed.

Theory of operation. A recorder is fed packets of decoded audio (16-bit
8 kHz mono PCM, :mod:`.pcm`), each from one *source* (a direction of the
call) with the time it arrived. It has no RTP sequence numbers or
timestamps to go by (a tap sees audio, after transcoding), only arrival
times, so it places each source's audio on a common sample clock whose
origin is the first packet of any source:

* A source's audio is **contiguous** while its packets come on time: each
  packet goes right after the previous one (the source's *cursor*), not at
  its arrival time, so network jitter, bursts and reordering neither
  stretch nor shrink the result.
* The packet's *lateness* is where its arrival time puts it minus the
  cursor. More than ``tolerance`` late is a **real gap** (silence
  suppression, a long loss, a hold): the packet is placed at its arrival
  time and silence fills the gap. More than ``tolerance`` early (the
  source's audio would run ahead of the clock, e.g. a burst after a gap)
  the packet is dropped: audio is never placed twice or on top of itself.
* **Drift** below the tolerance (a lost packet or two, a sender clock a
  little fast or slow) is corrected once per ``window`` packets from the
  window's lateness range: when every packet of the window was late by
  more than ``drift`` (audio is missing), that much silence is inserted;
  when every one was early by more than ``drift``, as much audio is
  skipped (whole packets). Jitter alone never triggers it, since some
  packets of a window then arrive on time.

The sources are **mixed as they arrive** into one buffer with a saturating
add (:func:`.mixing.mix`, entered only when a sum leaves the 16-bit range;
a plain sum otherwise: a packet costs about 25 µs, not 65). Since a source
never overlaps itself, each sample is the sum of at most one packet per
source. Memory is therefore one
16-bit sample per 8 kHz tick of the call (16 kB per second, 57.6 MB per
hour) whatever the number of sources, and is **bounded** by
``max_duration`` (default :data:`DEFAULT_MAX_DURATION`, 4 hours, about
230 MB): audio past the cap is dropped and :attr:`MixedRecorder.truncated`
set. Silence gaps are stored as zero samples, so they count towards the
cap like audio.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from dataclasses import dataclass, field
from operator import add

from .errors import MediaUsageError
from .mixing import mix
from .pcm import SAMPLE_MAX, SAMPLE_MIN, SAMPLE_RATE, pcm_from_samples, samples_from_pcm

__all__ = ["DEFAULT_MAX_DURATION", "MixedRecorder", "SourceCounters"]

DEFAULT_MAX_DURATION = 4 * 3600.0
"""The longest recording kept, in seconds (4 hours: about 230 MB of PCM)."""


@dataclass(slots=True)
class SourceCounters:
    """What happened to one source's packets."""

    packets: int = 0
    """Packets placed on the timeline."""
    dropped: int = 0
    """Packets dropped: early (would overlap), past the cap, or skipped for drift."""
    gaps: int = 0
    """Real gaps filled with silence."""
    gap_seconds: float = 0.0
    """Silence inserted for gaps and drift."""


@dataclass(slots=True)
class _Source:
    cursor: int | None = None
    """Where this source's next contiguous sample goes (None: no packet yet)."""
    window_count: int = 0
    window_low: int = 0
    window_high: int = 0
    skip: int = 0
    """Samples still to skip because the source ran ahead (drift)."""
    counters: SourceCounters = field(default_factory=SourceCounters)


class MixedRecorder:
    """Places packets of several sources on one sample clock and mixes them.

    Args:
        max_duration: the cap, in seconds (see the module's documentation).
        tolerance: how late or early a packet may arrive, in seconds, and
            still be placed right after its source's previous packet.
        drift: the smallest steady lateness (or earliness), in seconds,
            corrected once per window.
        window: packets per drift check.
        sample_rate: samples per second of the PCM fed in.

    Raises:
        MediaUsageError: a parameter is out of range.
    """

    def __init__(
        self,
        *,
        max_duration: float = DEFAULT_MAX_DURATION,
        tolerance: float = 0.1,
        drift: float = 0.015,
        window: int = 50,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        if max_duration <= 0 or tolerance <= 0 or drift <= 0 or window < 1 or sample_rate < 1:
            raise MediaUsageError("the recorder's limits must be positive")
        if drift >= tolerance:
            raise MediaUsageError("the drift threshold must be below the tolerance")
        self.sample_rate = sample_rate
        self.max_samples = round(max_duration * sample_rate)
        self._tolerance = round(tolerance * sample_rate)
        self._drift = round(drift * sample_rate)
        self._window = window
        self._origin: float | None = None
        self._mixed = array("h")
        self._sources: dict[Hashable, _Source] = {}
        self.truncated = False
        """Audio past ``max_duration`` was dropped."""

    # Feeding -----------------------------------------------------------------

    def add(self, source: Hashable, pcm: bytes, arrival: float) -> None:
        """Place one packet's audio.

        Args:
            source: which source (direction) spoke it; any hashable key.
            pcm: 16-bit little-endian mono PCM at ``sample_rate``.
            arrival: when the packet arrived, in seconds (a monotonic clock
                shared by every source).

        Raises:
            MediaUsageError: ``pcm`` has an odd length.
        """
        samples = samples_from_pcm(pcm)
        count = len(samples)
        state = self._sources.get(source)
        if state is None:
            state = self._sources[source] = _Source()
        counters = state.counters
        if count == 0:
            return
        if self._origin is None:
            self._origin = arrival
        due = max(0, round((arrival - self._origin) * self.sample_rate))
        start = self._place(state, counters, due, count)
        if start is None:
            counters.dropped += 1
            return
        if start >= self.max_samples:
            self.truncated = True
            counters.dropped += 1
            return
        if start + count > self.max_samples:
            self.truncated = True
            samples = samples[: self.max_samples - start]
        self._write(start, samples)
        state.cursor = start + count
        counters.packets += 1

    def _place(self, state: _Source, counters: SourceCounters, due: int, count: int) -> int | None:
        """Where the packet starts on the timeline; None to drop it."""
        cursor = state.cursor
        if cursor is None:
            return due  # the source's first packet
        lateness = due - cursor
        if lateness > self._tolerance:
            self._silence(state, counters, lateness)
            counters.gaps += 1
            return due
        if lateness < -self._tolerance:
            return None
        if state.skip > 0:
            if 2 * state.skip >= count:
                state.skip -= count
                return None
            state.skip = 0
        return cursor + self._drift_correction(state, counters, lateness)

    def _drift_correction(self, state: _Source, counters: SourceCounters, lateness: int) -> int:
        """Silence to insert before this packet (0 but once per window at most)."""
        if state.window_count == 0:
            state.window_low = state.window_high = lateness
        else:
            state.window_low = min(state.window_low, lateness)
            state.window_high = max(state.window_high, lateness)
        state.window_count += 1
        if state.window_count < self._window:
            return 0
        state.window_count = 0
        if state.window_low > self._drift:
            self._silence(state, counters, state.window_low)
            return state.window_low
        if state.window_high < -self._drift:
            state.skip = -state.window_high
        return 0

    def _silence(self, state: _Source, counters: SourceCounters, samples: int) -> None:
        state.window_count = 0
        state.skip = 0
        counters.gap_seconds += samples / self.sample_rate

    def _write(self, start: int, samples: array[int]) -> None:
        mixed = self._mixed
        end = start + len(samples)
        length = len(mixed)
        if start >= length:
            if start > length:
                mixed.extend(array("h", bytes(2 * (start - length))))
            mixed.extend(samples)
            return
        overlap = min(end, length) - start
        sums = list(map(add, mixed[start : start + overlap], samples[:overlap]))
        if max(sums) > SAMPLE_MAX or min(sums) < SAMPLE_MIN:
            # Rare (loud speech on both sides at once): the mixer's saturation.
            here = pcm_from_samples(mixed[start : start + overlap])
            summed = mix([here, pcm_from_samples(samples[:overlap])])
            mixed[start : start + overlap] = samples_from_pcm(summed)
        else:
            mixed[start : start + overlap] = array("h", sums)
        if overlap < len(samples):
            mixed.extend(samples[overlap:])

    # Reading ------------------------------------------------------------------

    @property
    def duration(self) -> float:
        """The recording's length so far, in seconds."""
        return len(self._mixed) / self.sample_rate

    def counters(self, source: Hashable) -> SourceCounters:
        """What happened to ``source``'s packets (zeros if it sent none)."""
        state = self._sources.get(source)
        return state.counters if state is not None else SourceCounters()

    def pcm(self) -> bytes:
        """The mix so far: 16-bit little-endian mono PCM at ``sample_rate``."""
        return pcm_from_samples(self._mixed)
