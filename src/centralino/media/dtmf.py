"""DTMF as RFC 4733 telephone events, and the DTMF digit/tone tables.

Wire format (RFC 4733 §2.3): four bytes, event code, end bit, reserved bit,
6-bit volume (dBm0 below zero), 16-bit duration in timestamp units.

Sending (:class:`DtmfSender`, §2.5.1): every packet of one event carries the
event's start timestamp; the first has the RTP marker bit; updates follow
every ``interval`` with the duration so far; the final duration goes out in
three packets with the end bit (the retransmissions §2.5.1.4 asks for). The
sender plans the packets with their send offsets; the glue assigns sequence
numbers and sends them on time (and holds back audio meanwhile).

Receiving (:class:`DtmfReceiver`, §2.5.2): packets are grouped by start
timestamp; a digit is reported once, when the first end packet arrives; the
retransmitted ends and late updates that follow are ignored. When the end
packets are all lost the digit is still reported, either when the next event
starts or when no packet came for ``timeout`` seconds (``get_timer`` /
``handle_timer``).
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass

from .errors import MediaParseError, MediaUsageError
from .rtp import RtpPacket

__all__ = [
    "DTMF_DIGITS",
    "DTMF_FREQUENCIES",
    "DtmfPacket",
    "DtmfReceiver",
    "DtmfSender",
    "ReceivedDigit",
    "TelephoneEvent",
    "digit_for_event",
    "event_for_digit",
]

#: RFC 4733 §3.2: events 0-15 in this order.
DTMF_DIGITS = "0123456789*#ABCD"
_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)
_KEYPAD = ("123A", "456B", "789C", "*0#D")
#: The (row, column) frequencies in Hz of each digit (ITU-T Q.23).
DTMF_FREQUENCIES: dict[str, tuple[int, int]] = {
    key: (_ROWS[row], _COLUMNS[column])
    for row, keys in enumerate(_KEYPAD)
    for column, key in enumerate(keys)
}
_PAYLOAD = struct.Struct("!BBH")
_MAX_DURATION = 0xFFFF


def event_for_digit(digit: str) -> int:
    """Return the RFC 4733 event code of a DTMF digit.

    Args:
        digit: one of ``0-9 * # A-D`` (lowercase letters accepted).

    Returns:
        The event code, 0-15.

    Raises:
        MediaUsageError: not a DTMF digit.
    """
    index = DTMF_DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise MediaUsageError(f"{digit!r} is not a DTMF digit")
    return index


def digit_for_event(event: int) -> str | None:
    """Return the DTMF digit of an event code, or None for other events."""
    return DTMF_DIGITS[event] if 0 <= event < len(DTMF_DIGITS) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephoneEvent:
    """One RFC 4733 telephone-event payload."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255 or not 0 <= self.volume <= 63:
            raise MediaUsageError("event is 8 bits and volume 6 bits")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise MediaUsageError(f"duration {self.duration} is not 16 bits")

    @property
    def digit(self) -> str | None:
        """The DTMF digit of this event, or None for non-DTMF events."""
        return digit_for_event(self.event)

    @classmethod
    def parse(cls, data: bytes) -> TelephoneEvent:
        """Parse a telephone-event payload.

        Args:
            data: the RTP payload (extra bytes after the first four, as in
                a multi-event payload, are ignored).

        Returns:
            The first event.

        Raises:
            MediaParseError: fewer than four bytes.
        """
        if len(data) < _PAYLOAD.size:
            raise MediaParseError(f"telephone-event payload of {len(data)} bytes, expected 4")
        event, flags, duration = _PAYLOAD.unpack_from(data)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return _PAYLOAD.pack(self.event, self.end << 7 | self.volume, self.duration)


@dataclass(frozen=True, slots=True, kw_only=True)
class DtmfPacket:
    """One planned telephone-event packet: send it ``offset`` seconds in."""

    offset: float
    marker: bool
    timestamp: int
    event: TelephoneEvent

    def rtp(self, *, payload_type: int, sequence_number: int, ssrc: int) -> RtpPacket:
        """Wrap this event in an RTP packet of the caller's stream.

        Args:
            payload_type: the negotiated telephone-event payload type.
            sequence_number: the stream's next sequence number.
            ssrc: the stream's SSRC.

        Returns:
            The RTP packet.
        """
        return RtpPacket(
            payload_type=payload_type,
            sequence_number=sequence_number,
            timestamp=self.timestamp,
            ssrc=ssrc,
            marker=self.marker,
            payload=bytes(self.event),
        )


class DtmfSender:
    """Plans the RFC 4733 packet sequence of a digit.

    Args:
        clock_rate: the RTP clock rate (8000 for telephone-event/8000).
        interval: seconds between packets (20 ms: one audio packet time).
        volume: the tone power in -dBm0 (0-63).
        end_repeats: how many packets carry the end bit (3 per RFC 4733).
    """

    def __init__(
        self,
        *,
        clock_rate: int = 8000,
        interval: float = 0.02,
        volume: int = 10,
        end_repeats: int = 3,
    ) -> None:
        self.clock_rate = clock_rate
        self.interval = interval
        self.volume = volume
        self.end_repeats = end_repeats

    def packets(self, digit: str, *, timestamp: int, duration: float = 0.1) -> list[DtmfPacket]:
        """Plan the packets that send ``digit``.

        Args:
            digit: the DTMF digit.
            timestamp: the RTP timestamp at which the event starts.
            duration: how long the key is held, in seconds.

        Returns:
            The packets in sending order, with their offsets in seconds.

        Raises:
            MediaUsageError: unknown digit, or a duration that is not
                positive or exceeds 16 bits of timestamp units.
        """
        event = event_for_digit(digit)
        total = round(duration * self.clock_rate)
        step = round(self.interval * self.clock_rate)
        if not 0 < total <= _MAX_DURATION:
            raise MediaUsageError(f"DTMF duration {duration}s is out of range")
        updates = math.ceil(total / step)
        lengths = [step * k for k in range(1, updates)] + [total] * self.end_repeats
        return [
            DtmfPacket(
                offset=index * self.interval,
                marker=index == 0,
                timestamp=timestamp,
                event=TelephoneEvent(
                    event=event, end=index >= updates - 1, volume=self.volume, duration=length
                ),
            )
            for index, length in enumerate(lengths)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedDigit:
    """A digit received as telephone events."""

    digit: str
    timestamp: int
    duration: int
    ended: bool


@dataclass(slots=True)
class _Pending:
    key: tuple[int, int]
    digit: str
    duration: int
    last_seen: float


class DtmfReceiver:
    """Turns a stream of telephone-event packets into digits, each once.

    Args:
        payload_type: the negotiated telephone-event payload type; other
            packets are ignored, so the whole stream can be fed.
        timeout: seconds without packets after which an event whose end
            packets were lost is reported anyway.
    """

    def __init__(self, *, payload_type: int, timeout: float = 0.5) -> None:
        self.payload_type = payload_type
        self.timeout = timeout
        self._pending: _Pending | None = None
        self._finished: deque[tuple[int, int]] = deque(maxlen=32)

    def receive(self, packet: RtpPacket, now: float) -> list[ReceivedDigit]:
        """Feed one RTP packet.

        Args:
            packet: any packet of the stream.
            now: the arrival time in seconds.

        Returns:
            The digits completed by this packet (zero, one, or two when a new
            event also completes one whose end was lost).

        Raises:
            MediaParseError: a telephone-event payload shorter than 4 bytes.
        """
        if packet.payload_type != self.payload_type:
            return []
        event = TelephoneEvent.parse(packet.payload)
        key = (packet.ssrc, packet.timestamp)
        digit = event.digit
        if digit is None or key in self._finished:
            return []
        completed = []
        pending = self._pending
        if pending is not None and pending.key != key:
            completed.append(self._finish(pending, ended=False))
            pending = None
        if pending is None:
            pending = self._pending = _Pending(key=key, digit=digit, duration=0, last_seen=now)
        pending.duration = max(pending.duration, event.duration)
        pending.last_seen = now
        if event.end:
            completed.append(self._finish(pending, ended=True))
        return completed

    def _finish(self, pending: _Pending, *, ended: bool) -> ReceivedDigit:
        self._pending = None
        self._finished.append(pending.key)
        return ReceivedDigit(
            digit=pending.digit, timestamp=pending.key[1], duration=pending.duration, ended=ended
        )

    def get_timer(self) -> float | None:
        """Return when :meth:`handle_timer` should run next, or None."""
        return None if self._pending is None else self._pending.last_seen + self.timeout

    def handle_timer(self, now: float) -> list[ReceivedDigit]:
        """Report an event whose end packets never came.

        Args:
            now: the current time in seconds.

        Returns:
            The timed-out digit, if any.
        """
        pending = self._pending
        if pending is None or now < pending.last_seen + self.timeout:
            return []
        return [self._finish(pending, ended=False)]
