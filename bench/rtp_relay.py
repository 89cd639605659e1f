"""Relayed G.711 calls on one core: Centralino's media anchor vs a bare uvloop relay.

Theory of operation. This process is the load (pinned to core 1): per call
two fake phones, A and B, each a UDP socket on loopback sending a 172-byte
G.711 RTP packet every 20 ms (both directions, send times staggered over
the 20 ms), and measuring what arrives: every packet's transit time (from
its send time, looked up by sequence number) and, per stream, the RFC 3550
interarrival jitter J (§6.4.1, computed on those transit times, so the
load's own timer slop does not count; reported as J averaged over every
packet of the run, then over streams, and the largest J seen), the loss
(sent minus received, after a drain). One run measures, one after the other, the same calls over:

1. ``direct``: A sends straight to B (the loopback path, the reference);
2. ``bare``: a bare uvloop UDP relay (two sockets per call, forward as
   received: the most a Python relay can do), a child process pinned to
   core 0 with ``taskset``;
3. ``anchor``: Centralino's :class:`~centralino.telephony.media.AnchorSdp`
   in a child process pinned to core 0: each call set up by relaying A's
   SDP offer and B's answer (no SIP signalling), media then latched,
   counted (loss, jitter statistics) and relayed per leg; ``--transcode``
   adds a run where B speaks PCMA and A PCMU (decode + encode per packet).

Added jitter = a relay's mean per-stream jitter minus the direct path's.
The relay's CPU use over the measured window is read from /proc, and so is
how often it was preempted (involuntary context switches): more than a
handful means another process shared its core and the run is not clean.

    .venv/bin/python bench/rtp_relay.py --calls 200 --seconds 20
    .venv/bin/python bench/rtp_relay.py serve anchor   # (internal, driven by stdin)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
HEADER = struct.Struct("!BBHII")
PACKET_INTERVAL = 0.020
SLOTS = 10  # send times spread over the 20 ms in this many slots
WARM_UP = 1.0  # seconds not counted in jitter and transit
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the relays (child processes) -----------------------------------------------------


class _Forward(asyncio.DatagramProtocol):
    """One socket of the bare relay: forward to the other socket's phone."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.other: _Forward | None = None
        self.phone: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        other = self.other
        if other is not None and other.transport is not None and other.phone is not None:
            other.transport.sendto(data, other.phone)


async def _bare(calls: list[list[int]]) -> list[list[int]]:
    loop = asyncio.get_running_loop()
    targets = []
    for a_port, b_port in calls:
        sides = []
        for phone_port in (a_port, b_port):
            _t, side = await loop.create_datagram_endpoint(_Forward, local_addr=("127.0.0.1", 0))
            side.phone = ("127.0.0.1", phone_port)
            sides.append(side)
        sides[0].other, sides[1].other = sides[1], sides[0]
        targets.append([_port(side) for side in sides])
    return targets


def _port(side: _Forward) -> int:
    assert side.transport is not None
    return int(side.transport.get_extra_info("sockname")[1])


def _sdp(port: int, payload_type: int, version: int = 1) -> bytes:
    name = "PCMU" if payload_type == 0 else "PCMA"
    return (
        f"v=0\r\no=- {port} {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        f"t=0 0\r\nm=audio {port} RTP/AVP {payload_type}\r\n"
        f"a=rtpmap:{payload_type} {name}/8000\r\n"
    ).encode()


async def _anchor(calls: list[list[int]], transcode: bool) -> tuple[object, list[list[int]]]:
    from centralino.net.rtp import PortAllocator
    from centralino.sip.sdp import SessionDescription
    from centralino.telephony.calls import Direction
    from centralino.telephony.media import AnchorSdp

    anchor = AnchorSdp(
        bind="127.0.0.1", advertised_host="127.0.0.1", allocator=PortAllocator(20000, 29999)
    )
    targets = []
    for index, (a_port, b_port) in enumerate(calls):
        call_id = f"call-{index}"
        to_b = anchor.relay(call_id, Direction.TO_CALLEE, _sdp(a_port, 0))
        to_a = anchor.relay(call_id, Direction.TO_CALLER, _sdp(b_port, 8 if transcode else 0))
        ports = [SessionDescription.parse(body).media[0].port for body in (to_a, to_b)]
        targets.append(ports)
    await asyncio.sleep(0.1)  # sockets attach
    return anchor, targets


async def _serve(kind: str) -> None:
    loop = asyncio.get_running_loop()
    setup = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    keep: object = None
    if kind == "bare":
        targets = await _bare(setup["calls"])
    else:
        keep, targets = await _anchor(setup["calls"], kind == "anchor-transcode")
    print(json.dumps({"targets": targets}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop" or EOF
    if keep is not None:
        keep.close()  # type: ignore[attr-defined]


# --- the load -----------------------------------------------------------------------------


@dataclass
class Stream:
    """What one phone receives: transit times and RFC 3550 jitter."""

    received: int = 0
    jitter: float = 0.0
    previous: float | None = None
    jitter_sum: float = 0.0  # J after each packet, summed: its mean over the run
    jitter_count: int = 0
    jitter_max: float = 0.0


class Phone(asyncio.DatagramProtocol):
    """One fake phone: sends RTP, measures what arrives."""

    def __init__(self, run: Run, payload_type: int) -> None:
        self.run = run
        self.payload_type = payload_type
        self.transport: asyncio.DatagramTransport | None = None
        self.target: tuple[str, int] = ("127.0.0.1", 9)
        self.sequence = 0
        self.sent_at: list[float] = [0.0] * 65536
        self.peer: Phone | None = None
        self.stream = Stream()
        self.sent = 0
        self.payload = bytes(160)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self, now: float) -> None:
        sequence = self.sequence = (self.sequence + 1) & 0xFFFF
        self.sent_at[sequence] = now
        header = HEADER.pack(0x80, self.payload_type, sequence, sequence * 160, id(self) & 0xFFFF)
        assert self.transport is not None
        self.transport.sendto(header + self.payload, self.target)
        self.sent += 1

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        now = time.perf_counter()
        peer = self.peer
        if peer is None or len(data) < 12:
            return
        transit = now - peer.sent_at[(data[2] << 8) | data[3]]
        stream = self.stream
        stream.received += 1
        if now < self.run.measure_from:
            return
        self.run.transits.append(transit)
        if stream.previous is not None:
            jitter = stream.jitter = (
                stream.jitter + (abs(transit - stream.previous) - stream.jitter) / 16
            )
            stream.jitter_sum += jitter
            stream.jitter_count += 1
            stream.jitter_max = max(stream.jitter_max, jitter)
        stream.previous = transit


@dataclass
class Run:
    """One relay measured."""

    name: str
    measure_from: float = float("inf")
    transits: list[float] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    cpu_seconds: float | None = None
    seconds: float = 0.0
    preempted: int | None = None  # involuntary context switches of the relay

    def report(self) -> dict[str, float | str | None]:
        sent = sum(phone.sent for phone in self.phones)
        received = sum(phone.stream.received for phone in self.phones)
        streams = [phone.stream for phone in self.phones if phone.stream.jitter_count]
        jitters = [1000 * stream.jitter_sum / stream.jitter_count for stream in streams] or [0.0]
        transits = sorted(self.transits) or [0.0]
        return {
            "relay": self.name,
            "sent": sent,
            "received": received,
            "loss_percent": 100.0 * (sent - received) / sent if sent else 100.0,
            "jitter_ms_mean": statistics.fmean(jitters),
            "jitter_ms_max": 1000 * max((stream.jitter_max for stream in streams), default=0.0),
            "transit_ms_p50": 1000 * transits[len(transits) // 2],
            "transit_ms_p99": 1000 * transits[int(len(transits) * 0.99)],
            "transit_ms_max": 1000 * transits[-1],
            "relay_cpu_percent": (
                None if self.cpu_seconds is None else 100 * self.cpu_seconds / self.seconds
            ),
            "relay_preempted": self.preempted,
        }


def preemptions(pid: int) -> int:
    """How often the relay was switched out against its will (another process ran)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("nonvoluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def _measure(name: str, calls: int, seconds: float, core: str) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    run = Run(name)
    transcode = name == "anchor-transcode"
    pairs = []
    for _ in range(calls):
        pair = []
        for payload_type in (0, 8 if transcode else 0):
            _t, phone = await loop.create_datagram_endpoint(
                lambda pt=payload_type: Phone(run, pt), local_addr=("127.0.0.1", 0)
            )
            _buffers(phone)
            pair.append(phone)
        a, b = pair
        a.peer, b.peer = b, a
        pairs.append((a, b))
        run.phones += pair
    relay = None
    if name == "direct":
        for a, b in pairs:
            a.target, b.target = ("127.0.0.1", b.port), ("127.0.0.1", a.port)
    else:
        relay = await asyncio.create_subprocess_exec(
            *("taskset", "-c", core, str(PYTHON), __file__, "serve", name),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert relay.stdin is not None
        assert relay.stdout is not None
        setup = {"calls": [[a.port, b.port] for a, b in pairs]}
        relay.stdin.write(json.dumps(setup).encode() + b"\n")
        await relay.stdin.drain()
        targets = json.loads(await relay.stdout.readline())["targets"]
        for (a, b), (a_target, b_target) in zip(pairs, targets, strict=True):
            a.target, b.target = ("127.0.0.1", a_target), ("127.0.0.1", b_target)
    try:
        await _drive(run, pairs, seconds, relay.pid if relay else None)
    finally:
        if relay is not None:
            assert relay.stdin is not None
            relay.stdin.close()
            await asyncio.wait_for(relay.wait(), 10)
        for phone in run.phones:
            if phone.transport is not None:
                phone.transport.close()
    return run.report()


def _buffers(phone: Phone) -> None:
    assert phone.transport is not None
    sock = phone.transport.get_extra_info("socket")
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)


async def _drive(
    run: Run, pairs: list[tuple[Phone, Phone]], seconds: float, pid: int | None
) -> None:
    """Send every 20 ms for ``seconds`` (+ warm-up), staggered, then drain."""
    loop = asyncio.get_running_loop()
    phones = [phone for pair in pairs for phone in pair]
    slots = [phones[index::SLOTS] for index in range(SLOTS)]
    start = loop.time() + 0.05
    run.measure_from = time.perf_counter() + 0.05 + WARM_UP
    ticks = int((seconds + WARM_UP) / PACKET_INTERVAL) * SLOTS
    cpu_start: float | None = None
    switches = 0
    for tick in range(ticks):
        await asyncio.sleep(max(0.0, start + tick * PACKET_INTERVAL / SLOTS - loop.time()))
        if tick == int(WARM_UP / PACKET_INTERVAL) * SLOTS and pid is not None:
            cpu_start = cpu_seconds(pid)
            switches = preemptions(pid)
        now = time.perf_counter()
        for phone in slots[tick % SLOTS]:
            phone.send(now)
    if pid is not None and cpu_start is not None:
        run.cpu_seconds = cpu_seconds(pid) - cpu_start
        run.preempted = preemptions(pid) - switches
    run.seconds = seconds
    await asyncio.sleep(0.5)  # drain


def _print(results: list[dict[str, object]], calls: int) -> None:
    direct = next(r for r in results if r["relay"] == "direct")
    print(f"\n{calls} calls, {calls * 2 * 50} packets/s relayed (both directions)")
    print(
        f"{'relay':<18}{'loss %':>8}{'jitter ms':>11}{'added':>8}{'J max':>8}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>9}{'cpu %':>7}{'preempted':>10}"
    )
    for r in results:
        added = float(r["jitter_ms_mean"]) - float(direct["jitter_ms_mean"])  # type: ignore[arg-type]
        cpu = "-" if r["relay_cpu_percent"] is None else f"{r['relay_cpu_percent']:.0f}"
        preempted = "-" if r["relay_preempted"] is None else str(r["relay_preempted"])
        print(
            f"{r['relay']:<18}{r['loss_percent']:>8.3f}{r['jitter_ms_mean']:>11.3f}"
            f"{added:>8.3f}{r['jitter_ms_max']:>8.2f}{r['transit_ms_p50']:>8.3f}"
            f"{r['transit_ms_p99']:>8.3f}{r['transit_ms_max']:>9.2f}{cpu:>7}{preempted:>10}"
        )


async def _main(args: argparse.Namespace) -> None:
    results = []
    for name in ["direct", "bare", "anchor"] + (["anchor-transcode"] if args.transcode else []):
        results.append(await _measure(name, args.calls, args.seconds, args.relay_core))
        await asyncio.sleep(0.5)
    _print(results, args.calls)
    if args.json:
        print(json.dumps(results, indent=1))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        uvloop.run(_serve(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--transcode", action="store_true", help="also PCMU<->PCMA")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--relay-core", default="0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.calls <= 2000 or not 1 <= args.seconds <= 120:
        parser.error("1-2000 calls, 1-120 seconds")
    os.sched_setaffinity(0, {int(args.load_core)})
    uvloop.run(_main(args))


if __name__ == "__main__":
    main()
