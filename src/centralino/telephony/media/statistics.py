"""Per-leg media statistics: packets, bytes, loss and jitter.

:class:`LegStatistics` counts what one leg's socket received and sent.
Loss and interarrival jitter come from
:class:`~centralino.media.rtcp_statistics.ReceiverStatistics` (RFC 3550
A.1/A.8), one per source: when the phone's SSRC changes (a re-INVITE to
another device, a restart) the loss of the old source is kept and the new
one starts from scratch. :meth:`LegStatistics.snapshot` freezes the numbers
into a :class:`LegStats` for the management side and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.media.rtcp_statistics import ReceiverStatistics

__all__ = ["CallMediaStats", "LegStatistics", "LegStats", "RtpHeader"]

RtpHeader = tuple[int, int, int]
"""An RTP packet's sequence number, timestamp and SSRC."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LegStats:
    """One leg's numbers at one moment."""

    local_port: int
    """The PBX's RTP port for this leg (RTCP is the next one)."""
    remote: tuple[str, int] | None
    """Where the PBX sends this leg's RTP: the latched source, else the SDP's address."""
    latched: bool
    """True once RTP came from the phone (symmetric RTP)."""
    codec: str | None
    packets_received: int
    bytes_received: int
    packets_sent: int
    bytes_sent: int
    packets_lost: int
    packets_dropped: int
    """Malformed packets, or packets from an unexpected source."""
    jitter_ms: float
    rtcp_received: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMediaStats:
    """Both legs of an anchored call: the caller's (A) and the callee's (B)."""

    caller: LegStats
    callee: LegStats


class LegStatistics:
    """Running counters of one leg."""

    __slots__ = (
        "_earlier_lost",
        "_source",
        "bytes_received",
        "bytes_sent",
        "packets_dropped",
        "packets_received",
        "packets_sent",
        "rtcp_received",
    )

    def __init__(self) -> None:
        self.packets_received = 0
        self.bytes_received = 0
        self.packets_sent = 0
        self.bytes_sent = 0
        self.packets_dropped = 0
        self.rtcp_received = 0
        self._earlier_lost = 0
        self._source: ReceiverStatistics | None = None

    def received(self, header: RtpHeader, size: int, arrival: float, clock_rate: int) -> None:
        """Account for one RTP packet from the phone.

        Args:
            header: its sequence number, timestamp and SSRC.
            size: its size on the wire (bytes).
            arrival: when it arrived, in seconds (monotonic).
            clock_rate: the RTP clock rate of its payload.
        """
        sequence, timestamp, ssrc = header
        self.packets_received += 1
        self.bytes_received += size
        source = self._source
        if source is None or source.ssrc != ssrc:
            if source is not None:
                self._earlier_lost += max(0, source.cumulative_lost)
            source = self._source = ReceiverStatistics(ssrc=ssrc, clock_rate=clock_rate)
        source.receive_header(sequence, timestamp, arrival)

    def sent(self, size: int) -> None:
        """Account for one packet sent to the phone."""
        self.packets_sent += 1
        self.bytes_sent += size

    @property
    def packets_lost(self) -> int:
        """Packets that never arrived (RFC 3550 A.3), over every source."""
        current = self._source.cumulative_lost if self._source is not None else 0
        return self._earlier_lost + max(0, current)

    @property
    def jitter_ms(self) -> float:
        """The current source's interarrival jitter, in milliseconds."""
        source = self._source
        if source is None:
            return 0.0
        return source.jitter * 1000.0 / source.clock_rate

    def snapshot(
        self, *, local_port: int, remote: tuple[str, int] | None, latched: bool, codec: str | None
    ) -> LegStats:
        """Freeze the counters, with the leg's addresses and codec."""
        return LegStats(
            local_port=local_port,
            remote=remote,
            latched=latched,
            codec=codec,
            packets_received=self.packets_received,
            bytes_received=self.bytes_received,
            packets_sent=self.packets_sent,
            bytes_sent=self.bytes_sent,
            packets_lost=self.packets_lost,
            packets_dropped=self.packets_dropped,
            jitter_ms=self.jitter_ms,
            rtcp_received=self.rtcp_received,
        )
