"""Receiver statistics for RTCP reception reports (RFC 3550 Appendix A).

:class:`ReceiverStatistics` watches one incoming RTP stream and produces the
:class:`~centralino.media.rtcp.ReportBlock` about it:

* the extended highest sequence number and the source-restart rule of A.1
  (a jump of more than ``MAX_DROPOUT`` is believed only when the next packet
  follows it in sequence);
* cumulative and interval loss, and the 8-bit fraction lost of A.3;
* the interarrival jitter of A.8 in timestamp units, from arrival times the
  caller passes in (seconds, any monotonic origin);
* LSR/DLSR from the last sender report received (§6.4.1).

Time is always an argument; this module never reads a clock.
"""

from __future__ import annotations

from .rtcp import ReportBlock, SenderReport
from .rtp import RtpPacket, sequence_diff, timestamp_diff

__all__ = ["ReceiverStatistics", "ntp_middle", "ntp_timestamp"]

MAX_DROPOUT = 3000
MAX_MISORDER = 100
_NTP_UNIX_OFFSET = 2_208_988_800
_CUMULATIVE_MAX = (1 << 23) - 1


def ntp_timestamp(unix_time: float) -> int:
    """Return the 64-bit NTP timestamp (§4) of a Unix time in seconds."""
    return round((unix_time + _NTP_UNIX_OFFSET) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


def ntp_middle(ntp: int) -> int:
    """Return the middle 32 bits of an NTP timestamp (the LSR field, §6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


class ReceiverStatistics:
    """Reception statistics of one RTP source, as RFC 3550 A.1, A.3, A.8.

    Args:
        ssrc: the source these statistics describe.
        clock_rate: the RTP clock rate of its payload (8000 for G.711).
    """

    def __init__(self, *, ssrc: int, clock_rate: int) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.packets_received = 0
        self._base: int | None = None
        self._highest = 0  # extended
        self._bad_sequence: int | None = None
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0
        self._last_arrival: float | None = None
        self._last_timestamp = 0
        self._last_sender_report = 0
        self._sender_report_arrival: float | None = None

    @property
    def extended_highest_sequence(self) -> int:
        """The extended highest sequence number received (modulo 2**32)."""
        return self._highest & 0xFFFFFFFF

    @property
    def expected(self) -> int:
        """Packets expected so far: extended highest minus first, plus one."""
        return 0 if self._base is None else self._highest - self._base + 1

    @property
    def cumulative_lost(self) -> int:
        """Packets lost since the start (negative with duplicates), 24-bit clamped."""
        lost = self.expected - self.packets_received
        return max(-_CUMULATIVE_MAX - 1, min(_CUMULATIVE_MAX, lost))

    @property
    def jitter(self) -> float:
        """The interarrival jitter estimate, in timestamp units (A.8)."""
        return self._jitter

    def receive(self, packet: RtpPacket, arrival_time: float) -> None:
        """Account for one RTP packet of this source.

        Args:
            packet: the packet.
            arrival_time: when it arrived, in seconds.
        """
        self.receive_header(packet.sequence_number, packet.timestamp, arrival_time)

    def receive_header(self, sequence: int, timestamp: int, arrival_time: float) -> None:
        """Account for one RTP packet from its header fields alone.

        A relay that forwards packets unchanged reads these two fields with
        one ``struct`` unpack instead of building an :class:`RtpPacket`.

        Args:
            sequence: its 16-bit sequence number.
            timestamp: its 32-bit RTP timestamp.
            arrival_time: when it arrived, in seconds.
        """
        if self._base is None:
            self._restart(sequence)
        elif not self._update_sequence(sequence):
            return
        self.packets_received += 1
        self._update_jitter(timestamp, arrival_time)

    def _restart(self, sequence: int) -> None:
        self._base = self._highest = sequence
        self._bad_sequence = None
        self.packets_received = self._expected_prior = self._received_prior = 0

    def _update_sequence(self, sequence: int) -> bool:
        delta = sequence_diff(sequence, self._highest & 0xFFFF)
        if 0 < delta < MAX_DROPOUT or -MAX_MISORDER <= delta <= 0:
            self._highest = max(self._highest, self._highest + delta)
            return True
        if sequence == self._bad_sequence:
            # Two sequential packets after a big jump: the source restarted.
            self._restart(sequence)
            self._last_arrival = None
            return True
        self._bad_sequence = (sequence + 1) & 0xFFFF
        return False

    def _update_jitter(self, timestamp: int, arrival_time: float) -> None:
        if self._last_arrival is not None:
            arrival_units = (arrival_time - self._last_arrival) * self.clock_rate
            difference = arrival_units - timestamp_diff(timestamp, self._last_timestamp)
            self._jitter += (abs(difference) - self._jitter) / 16
        self._last_arrival = arrival_time
        self._last_timestamp = timestamp

    def receive_sender_report(self, report: SenderReport, arrival_time: float) -> None:
        """Remember this source's sender report for the LSR/DLSR fields.

        Args:
            report: the SR received from the source.
            arrival_time: when it arrived, in seconds.
        """
        self._last_sender_report = ntp_middle(report.ntp_timestamp)
        self._sender_report_arrival = arrival_time

    def report_block(self, now: float) -> ReportBlock:
        """Build the report block for an outgoing SR/RR and start a new interval.

        Args:
            now: the sending time, in seconds (same origin as arrival times).

        Returns:
            The block, with the fraction lost over the interval since the
            previous call.
        """
        expected_interval = self.expected - self._expected_prior
        lost_interval = expected_interval - (self.packets_received - self._received_prior)
        self._expected_prior = self.expected
        self._received_prior = self.packets_received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        delay = 0
        if self._sender_report_arrival is not None:
            delay = max(0, round((now - self._sender_report_arrival) * 65536)) & 0xFFFFFFFF
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=self.cumulative_lost,
            highest_sequence=self.extended_highest_sequence,
            jitter=int(self._jitter) & 0xFFFFFFFF,
            last_sender_report=self._last_sender_report,
            delay_since_last_sender_report=delay,
        )
