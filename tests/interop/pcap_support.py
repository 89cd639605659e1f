"""A minimal pcap writer for SIPp's ``<exec play_pcap_audio=...>``.

SIPp replays the UDP payloads of a capture (Ethernet / IPv4 / UDP) to the
media address of the other side's SDP, keeping the capture's timing: the
addresses and ports written here are placeholders it replaces. The RTP
packets themselves are built with ``centralino.media`` (the PBX's own RTP
and RFC 4733 code) and a stream is planned as a list of (seconds, packet).

:class:`RtpStream` plans one RTP stream (one SSRC, consecutive sequence
numbers, timestamps on the 8 kHz clock): PCMU audio frames and
RFC 4733 telephone-event digits, one after the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from centralino.media.codecs import default_codecs
from centralino.media.dtmf import DtmfSender
from centralino.media.pcm import FRAME_BYTES, FRAME_DURATION, FRAME_SAMPLES
from centralino.media.rtp import RtpPacket

__all__ = ["RtpStream", "write_pcap"]

_ETHERNET = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00"
_SOURCE, _DESTINATION = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
_SOURCE_PORT, _DESTINATION_PORT = 6000, 6002


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet."""
    udp = struct.pack("!HHHH", _SOURCE_PORT, _DESTINATION_PORT, 8 + len(payload), 0) + payload
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, _SOURCE, _DESTINATION
    )
    header = header[:10] + struct.pack("!H", _ip_checksum(header)) + header[12:]
    return _ETHERNET + header + udp


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    """Write ``(seconds from the start, RTP packet)`` pairs as a pcap file."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    base = 1_700_000_000
    for offset, payload in sorted(packets, key=lambda item: item[0]):
        frame = _frame(payload)
        seconds, micros = divmod(round(offset * 1_000_000), 1_000_000)
        out += struct.pack("<IIII", base + seconds, micros, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))


@dataclass
class RtpStream:
    """One outgoing RTP stream planned in time (PCMU audio, RFC 4733 keys)."""

    event_payload_type: int = 101
    ssrc: int = 0x1234ABCD
    sequence: int = 1000
    timestamp: int = 160_000
    clock: float = 0.0
    """Seconds from the start of the capture where the next packet goes."""
    packets: list[tuple[float, bytes]] = field(default_factory=list)

    def _add(self, packet: RtpPacket) -> None:
        self.packets.append((self.clock, bytes(packet)))
        self.sequence = (self.sequence + 1) & 0xFFFF

    def audio(self, pcm: bytes) -> None:
        """PCMU packets of 20 ms carrying ``pcm`` (16-bit mono 8 kHz)."""
        codec = default_codecs().by_name("PCMU")
        assert codec is not None
        for offset in range(0, len(pcm), FRAME_BYTES):
            frame = pcm[offset : offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
            self._add(
                RtpPacket(
                    payload_type=0,
                    sequence_number=self.sequence,
                    timestamp=self.timestamp,
                    ssrc=self.ssrc,
                    payload=codec.encode(frame),
                )
            )
            self.clock += FRAME_DURATION
            self.timestamp = (self.timestamp + FRAME_SAMPLES) & 0xFFFFFFFF

    def keys(self, digits: str, *, hold: float = 0.1, gap: float = 0.15) -> None:
        """Each digit as RFC 4733 events held ``hold`` s, then ``gap`` s of nothing."""
        sender = DtmfSender()
        for digit in digits:
            start = self.clock
            planned = sender.packets(digit, timestamp=self.timestamp, duration=hold)
            for event in planned:
                self.clock = start + event.offset
                self._add(
                    event.rtp(
                        payload_type=self.event_payload_type,
                        sequence_number=self.sequence,
                        ssrc=self.ssrc,
                    )
                )
            self.clock = start + hold + gap
            self.timestamp = (self.timestamp + round((hold + gap) * 8000)) & 0xFFFFFFFF

    def pause(self, seconds: float) -> None:
        """Nothing sent for ``seconds`` (the RTP clock goes on)."""
        self.clock += seconds
        self.timestamp = (self.timestamp + round(seconds * 8000)) & 0xFFFFFFFF

    def write(self, path: Path) -> Path:
        """The capture of everything planned so far."""
        write_pcap(path, self.packets)
        return path
