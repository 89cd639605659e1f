"""A playout (jitter) buffer for one incoming RTP stream.

Packets go in with their arrival time (:meth:`JitterBuffer.push`); frames come
out in sequence order when due (:meth:`JitterBuffer.pop`, called by the glue
once per packet time with the current time). The buffer is pure: it keeps a
schedule, not a timer.

Schedule: the first packet is due ``target_delay`` after it arrived; every
other packet is due at that instant plus its timestamp distance from the
first (so a frame of 160 samples at 8 kHz is due 20 ms after the previous
one, whatever the network did). Sequence numbers are extended across the
16-bit wrap (:class:`~centralino.media.rtp.SequenceExtender`), timestamps
compared with serial arithmetic.

Pop returns, in order: the next packet once due; a *concealment* frame for
a missing packet at its own due time, when a later packet is already held
(its timestamp interpolated, its payload empty: the decoding side fills it,
with silence or a repeat); or None (not yet due, or the buffer ran dry: an
underrun waits for the missing packet).

Adaptation, kept simple: a missing packet that arrives after its due time
but before it was concealed pushes the whole schedule later, so the buffer
refills to the target delay (delay spikes grow the delay); a packet due more
than ``max_delay`` after its arrival pulls the schedule earlier (the delay
shrinks back). A sequence jump beyond ``max_gap`` or a new SSRC restarts the
buffer. Late packets (already played or concealed), duplicates and packets
beyond ``capacity`` are dropped and counted in :class:`JitterStatistics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .rtp import RtpPacket, SequenceExtender, timestamp_add, timestamp_diff

__all__ = ["FrameKind", "JitterBuffer", "JitterStatistics", "PlayoutFrame"]


class FrameKind(Enum):
    """What :meth:`JitterBuffer.pop` hands out."""

    AUDIO = "audio"
    CONCEALMENT = "concealment"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayoutFrame:
    """One frame to play: a received packet, or a stand-in for a lost one."""

    kind: FrameKind
    sequence_number: int
    timestamp: int
    payload: bytes = b""
    marker: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class JitterStatistics:
    """Counters since the buffer was created."""

    received: int
    played: int
    concealed: int
    late: int
    duplicates: int
    overflows: int
    restarts: int
    delay_changes: int
    depth: int


class JitterBuffer:
    """Reorders one RTP stream and releases it on a steady schedule.

    Args:
        clock_rate: RTP timestamp units per second.
        target_delay: seconds a packet waits after the schedule's anchor.
        max_delay: a packet due later than this after its arrival pulls the
            schedule earlier.
        capacity: the most packets held; further ones are dropped.
        max_gap: a sequence jump larger than this restarts the buffer.
    """

    def __init__(
        self,
        *,
        clock_rate: int = 8000,
        target_delay: float = 0.06,
        max_delay: float = 0.5,
        capacity: int = 64,
        max_gap: int = 100,
    ) -> None:
        self.clock_rate = clock_rate
        self.target_delay = target_delay
        self.max_delay = max_delay
        self.capacity = capacity
        self.max_gap = max_gap
        self._packets: dict[int, RtpPacket] = {}
        self._extender = SequenceExtender()
        self._ssrc: int | None = None
        self._next = 0  # extended sequence number of the next frame
        self._reference = (0, 0, 0.0)  # (extended sequence, timestamp, due time)
        self._started = False  # a frame has been popped since the last restart
        self._counts = dict.fromkeys(
            ("received", "played", "concealed", "late", "duplicates", "overflows"), 0
        )
        self._counts.update(restarts=0, delay_changes=0)

    @property
    def statistics(self) -> JitterStatistics:
        """The counters, and the number of packets held now."""
        return JitterStatistics(depth=len(self._packets), **self._counts)

    def _due(self, timestamp: int) -> float:
        _, reference_timestamp, reference_due = self._reference
        return reference_due + timestamp_diff(timestamp, reference_timestamp) / self.clock_rate

    def push(self, packet: RtpPacket, arrival_time: float) -> None:
        """Store one packet of the stream.

        Args:
            packet: the RTP packet.
            arrival_time: when it arrived, in seconds (same clock as ``pop``).
        """
        self._counts["received"] += 1
        if self._ssrc is None:
            self._restart(packet, arrival_time, count=False)
            return
        sequence = self._extender.extend(packet.sequence_number)
        if packet.ssrc != self._ssrc or abs(sequence - self._next) > self.max_gap:
            self._restart(packet, arrival_time, count=True)
            return
        if sequence < self._next and not self._started:
            self._next = sequence  # reordered before playout began
        if sequence < self._next:
            self._counts["late"] += 1
        elif sequence in self._packets:
            self._counts["duplicates"] += 1
        elif len(self._packets) >= self.capacity:
            self._counts["overflows"] += 1
        else:
            self._packets[sequence] = packet
            self._adapt(sequence, packet.timestamp, arrival_time)

    def _restart(self, packet: RtpPacket, arrival_time: float, *, count: bool) -> None:
        self._counts["restarts"] += count
        self._ssrc = packet.ssrc
        sequence = self._extender.reset(packet.sequence_number)
        self._packets = {sequence: packet}
        self._next = sequence
        self._reference = (sequence, packet.timestamp, arrival_time + self.target_delay)
        self._started = False

    def _adapt(self, sequence: int, timestamp: int, arrival_time: float) -> None:
        due = self._due(timestamp)
        late = sequence == self._next and due < arrival_time
        if late or due - arrival_time > self.max_delay:
            # Move the schedule so this packet is due target_delay from now.
            shift = arrival_time + self.target_delay - due
            reference_sequence, reference_timestamp, reference_due = self._reference
            self._reference = (reference_sequence, reference_timestamp, reference_due + shift)
            self._counts["delay_changes"] += 1

    def get_timer(self) -> float | None:
        """Return when the next frame (packet or concealment) is due, or None."""
        if not self._packets:
            return None
        packet = self._packets.get(self._next)
        return self._due(packet.timestamp if packet else self._missing_timestamp())

    def pop(self, now: float) -> PlayoutFrame | None:
        """Return the next frame if it is due.

        Args:
            now: the current time in seconds.

        Returns:
            The next packet's frame, a concealment frame for a lost packet,
            or None when nothing is due yet or the buffer is empty.
        """
        due = self.get_timer()
        if due is None or due > now:
            return None
        packet = self._packets.pop(self._next, None)
        timestamp = packet.timestamp if packet else self._missing_timestamp()
        self._reference = (self._next, timestamp, self._due(timestamp))
        self._next += 1
        self._started = True
        if packet is None:
            self._counts["concealed"] += 1
            return PlayoutFrame(
                kind=FrameKind.CONCEALMENT,
                sequence_number=(self._next - 1) & 0xFFFF,
                timestamp=timestamp,
            )
        self._counts["played"] += 1
        return PlayoutFrame(
            kind=FrameKind.AUDIO,
            sequence_number=packet.sequence_number,
            timestamp=packet.timestamp,
            payload=packet.payload,
            marker=packet.marker,
        )

    def _missing_timestamp(self) -> int:
        """Interpolate the timestamp of the missing next packet."""
        later = min(self._packets)
        reference_sequence, reference_timestamp, _ = self._reference
        step = timestamp_diff(self._packets[later].timestamp, reference_timestamp)
        fraction = (self._next - reference_sequence) / max(1, later - reference_sequence)
        return timestamp_add(reference_timestamp, round(step * fraction))
