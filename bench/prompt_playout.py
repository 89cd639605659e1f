"""Prompts played to many callers at once (voicemail greetings) on one core.

Theory of operation. This process is the load (pinned to core 1): per call
one fake phone, a UDP socket on loopback that sends a 172-byte PCMU RTP
packet every 20 ms to the PBX (a caller speaking into voicemail; send
times staggered over the 20 ms) and measures the stream the PBX sends it.
Two peers, each a child process pinned to core 0 with ``taskset``, run
one after the other with the same calls:

1. ``bare``: a bare uvloop sender, one socket per call, one loop timer
   every 20 ms sending the next packet of every stream (header packed per
   packet, precomputed payload, no codec work); what the phones send is
   received and dropped. The Python ceiling.
2. ``centralino``: each call answered by
   :meth:`~centralino.telephony.media.AnchorSdp.answer_locally` (the
   phone's SDP offer: PCMU, PCMA, telephone-event), then, on the
   :class:`~centralino.telephony.media.MediaEndpoint` it returns, one task
   playing a long tone prompt (``play()``, interruptible by a key as a
   greeting is) and one recording what the phone sends (``record()``),
   both at once; the phone's packets go through latching, statistics, the
   endpoint's RTP parse, the key receiver and decoding into the take.
   ``--inband`` leaves telephone-event out of the offer, so every packet
   also goes through the in-band DTMF detector.

Measured at each phone, over the window after a warm-up: packets received
against the stream's sequence numbers (loss) and against the real time
elapsed (delivered: a sender that falls behind shows here), the RFC 3550
interarrival jitter (§6.4.1: arrival time minus RTP timestamp / 8000,
averaged over every packet of the run, then over streams; and the largest
J seen), and the inter-packet gaps (p50/p99/max over all streams). The
peer's CPU share over the window comes from /proc, and so does how often it
was preempted (involuntary context switches: more than a handful means
another process shared its core and the run is not clean); "load pre" is
the same count for this process, whose timing the figures also depend on.

    .venv/bin/python bench/prompt_playout.py --calls 200 --seconds 20
    .venv/bin/python bench/prompt_playout.py serve centralino   # (internal, driven by stdin)
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
sys.path.insert(0, str(HERE))

from rtp_relay import cpu_seconds, preemptions  # noqa: E402

ROOT = HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
HEADER = struct.Struct("!BBHII")
PACKET_INTERVAL = 0.020
SLOTS = 10  # the phones' send times spread over the 20 ms in this many slots
WARM_UP = 1.0  # seconds after the prompts start that are not measured
MU_LAW_SILENCE = b"\xff" * 160


# --- the peers (child processes on core 0) ---------------------------------------------


class _Sink(asyncio.DatagramProtocol):
    """A bare peer's socket: what the phone sends is received and dropped."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received += 1


class _BareSender:
    """One loop timer every 20 ms sends the next packet of every stream."""

    def __init__(self, sinks: list[_Sink], phones: list[int]) -> None:
        self.streams = [
            (sink.transport, ("127.0.0.1", port), index)
            for index, (sink, port) in enumerate(zip(sinks, phones, strict=True))
        ]
        self.loop = asyncio.get_running_loop()
        self.tick = 0
        self.start = 0.0
        self.payload = bytes(range(160))  # the same bytes every time: no codec work

    def begin(self) -> None:
        self.start = self.loop.time()
        self._send()

    def _send(self) -> None:
        tick = self.tick
        sequence, timestamp = tick & 0xFFFF, (tick * 160) & 0xFFFFFFFF
        marker = 0x80 if tick == 0 else 0
        payload = self.payload
        for transport, address, ssrc in self.streams:
            transport.sendto(
                HEADER.pack(0x80, marker, sequence, timestamp, ssrc) + payload, address
            )  # type: ignore[union-attr]
        self.tick = tick + 1
        self.loop.call_at(self.start + self.tick * PACKET_INTERVAL, self._send)


def _offer(port: int, inband: bool) -> bytes:
    event = "" if inband else " 101"
    lines = [
        "v=0",
        f"o=phone {port} 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0 8{event}",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
    ]
    if not inband:
        lines += ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"]
    return ("\r\n".join([*lines, "a=sendrecv"]) + "\r\n").encode()


async def _serve(kind: str) -> None:
    loop = asyncio.get_running_loop()

    async def line() -> dict[str, object]:
        text = await loop.run_in_executor(None, sys.stdin.readline)
        return json.loads(text) if text.strip() else {}

    setup = await line()
    phones: list[int] = setup["phones"]  # type: ignore[assignment]
    prompt_seconds = float(setup["prompt_seconds"])  # type: ignore[arg-type]
    if kind == "bare":
        sinks = []
        for _ in phones:
            _t, sink = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
            sinks.append(sink)
        ports = [int(sink.transport.get_extra_info("sockname")[1]) for sink in sinks]  # type: ignore[union-attr]
        print(json.dumps({"targets": ports}), flush=True)
        await line()  # "go"
        sender = _BareSender(sinks, phones)
        sender.begin()
        await line()  # "stop"
        print(json.dumps({"received": sum(sink.received for sink in sinks)}), flush=True)
        return

    from centralino.media.tones import sine
    from centralino.net.rtp import PortAllocator
    from centralino.sip.sdp import SessionDescription
    from centralino.telephony.apps.channel import HungUp
    from centralino.telephony.media import AnchorSdp
    from centralino.telephony.media.endpoint import MediaEndpoint

    anchor = AnchorSdp(
        bind="127.0.0.1", advertised_host="127.0.0.1", allocator=PortAllocator(40000, 49999)
    )
    endpoints: list[MediaEndpoint] = []
    targets = []
    for index, port in enumerate(phones):
        answer = anchor.answer_locally(f"vm-{index}", _offer(port, bool(setup["inband"])))
        assert answer is not None
        assert isinstance(answer.media, MediaEndpoint)
        endpoints.append(answer.media)
        targets.append(SessionDescription.parse(answer.body).media[0].port)
    await asyncio.sleep(0.1)  # sockets attach
    print(json.dumps({"targets": targets}), flush=True)
    prompt = sine(425.0, prompt_seconds, amplitude=0.3)
    await line()  # "go"

    async def greeting(endpoint: MediaEndpoint) -> str:
        try:
            key = await endpoint.play(prompt)
        except HungUp:
            return "hung_up"
        return "played" if key is None else f"key {key}"

    async def message(endpoint: MediaEndpoint) -> float:
        recording = await endpoint.record(max_seconds=prompt_seconds + 10)
        return len(recording.pcm) / 16000

    plays = [asyncio.ensure_future(greeting(endpoint)) for endpoint in endpoints]
    records = [asyncio.ensure_future(message(endpoint)) for endpoint in endpoints]
    await line()  # "stop"
    anchor.close()
    ends = await asyncio.gather(*plays)
    recorded = await asyncio.gather(*records)
    outcome = {"plays": {end: ends.count(end) for end in set(ends)}}
    outcome["recorded_seconds_mean"] = statistics.fmean(recorded)  # type: ignore[assignment]
    print(json.dumps(outcome), flush=True)


# --- the load -----------------------------------------------------------------------------


class Phone(asyncio.DatagramProtocol):
    """One fake caller: sends its voice, measures the prompt it hears."""

    def __init__(self, run: Run, index: int) -> None:
        self.run = run
        self.transport: asyncio.DatagramTransport | None = None
        self.target: tuple[str, int] | None = None
        self.ssrc = 0x10000 + index
        self.sequence = index * 1000
        self.sent = 0
        # What arrives, counted inside the measured window only.
        self.received = 0
        self.first_sequence: int | None = None
        self.last_sequence = 0  # extended
        self.previous_arrival: float | None = None
        self.previous_timestamp = 0
        self.jitter = 0.0
        self.jitter_sum = 0.0
        self.jitter_count = 0
        self.jitter_max = 0.0
        self.gaps: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self) -> None:
        sequence = self.sequence = (self.sequence + 1) & 0xFFFF
        header = HEADER.pack(0x80, 0, sequence, (sequence * 160) & 0xFFFFFFFF, self.ssrc)
        assert self.transport is not None
        assert self.target is not None
        self.transport.sendto(header + MU_LAW_SILENCE, self.target)
        self.sent += 1

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        now = time.perf_counter()
        run = self.run
        if not run.measure_from <= now < run.measure_until or len(data) < 12:
            return
        _flags, _type, sequence, timestamp, _ssrc = HEADER.unpack_from(data)
        if self.first_sequence is None:
            self.first_sequence = self.last_sequence = sequence
        else:
            extended = self.last_sequence + ((sequence - self.last_sequence) & 0xFFFF)
            if extended - self.last_sequence >= 0x8000:
                extended -= 0x10000  # late, reordered
            self.last_sequence = max(self.last_sequence, extended)
            assert self.previous_arrival is not None
            elapsed = now - self.previous_arrival
            self.gaps.append(elapsed)
            ticks = (timestamp - self.previous_timestamp) & 0xFFFFFFFF
            if ticks >= 0x80000000:
                ticks -= 0x100000000
            difference = elapsed - ticks / 8000  # D(i-1, i), RFC 3550 6.4.1
            jitter = self.jitter = self.jitter + (abs(difference) - self.jitter) / 16
            self.jitter_sum += jitter
            self.jitter_count += 1
            self.jitter_max = max(self.jitter_max, jitter)
        self.previous_arrival = now
        self.previous_timestamp = timestamp
        self.received += 1


@dataclass
class Run:
    """One peer measured."""

    name: str
    measure_from: float = float("inf")
    measure_until: float = float("inf")
    phones: list[Phone] = field(default_factory=list)
    cpu_seconds: float | None = None
    preempted: int | None = None
    load_preempted: int | None = None  # the same for this process (the phones)
    seconds: float = 0.0
    outcome: dict[str, object] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        phones = self.phones
        received = sum(phone.received for phone in phones)
        expected = sum(
            phone.last_sequence - phone.first_sequence + 1
            for phone in phones
            if phone.first_sequence is not None
        )
        in_time = len(phones) * self.seconds / PACKET_INTERVAL
        streams = [phone for phone in phones if phone.jitter_count]
        jitters = [1000 * phone.jitter_sum / phone.jitter_count for phone in streams] or [0.0]
        gaps = sorted(gap for phone in phones for gap in phone.gaps) or [0.0]
        return {
            "peer": self.name,
            "received": received,
            "expected": expected,
            "loss_percent": 100.0 * (expected - received) / expected if expected else 100.0,
            "delivered_percent": 100.0 * received / in_time,
            "jitter_ms_mean": statistics.fmean(jitters),
            "jitter_ms_max": 1000 * max((phone.jitter_max for phone in streams), default=0.0),
            "gap_ms_p50": 1000 * gaps[len(gaps) // 2],
            "gap_ms_p99": 1000 * gaps[int(len(gaps) * 0.99)],
            "gap_ms_max": 1000 * gaps[-1],
            "cpu_percent": (
                None if self.cpu_seconds is None else 100 * self.cpu_seconds / self.seconds
            ),
            "preempted": self.preempted,
            "load_preempted": self.load_preempted,
            "phone_packets_sent": sum(phone.sent for phone in phones),
            "outcome": self.outcome,
        }


async def _measure(name: str, args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    run = Run(name, seconds=args.seconds)
    for index in range(args.calls):
        _t, phone = await loop.create_datagram_endpoint(
            lambda i=index: Phone(run, i), local_addr=("127.0.0.1", 0)
        )
        run.phones.append(phone)
    peer = await asyncio.create_subprocess_exec(
        *("taskset", "-c", args.peer_core, str(PYTHON), __file__, "serve", name),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert peer.stdin is not None
    assert peer.stdout is not None

    async def tell(message: dict[str, object]) -> None:
        assert peer.stdin is not None
        peer.stdin.write(json.dumps(message).encode() + b"\n")
        await peer.stdin.drain()

    try:
        await tell(
            {
                "phones": [phone.port for phone in run.phones],
                "prompt_seconds": WARM_UP + args.seconds + 5,
                "inband": args.inband,
            }
        )
        targets = json.loads(await asyncio.wait_for(peer.stdout.readline(), 60))["targets"]
        for phone, target in zip(run.phones, targets, strict=True):
            phone.target = ("127.0.0.1", target)
        sender = asyncio.ensure_future(_speak(run.phones, WARM_UP + args.seconds + 1.5))
        await asyncio.sleep(0.3)  # the PBX latches the phones
        await tell({"go": True})
        run.measure_from = time.perf_counter() + WARM_UP
        run.measure_until = run.measure_from + args.seconds
        await asyncio.sleep(WARM_UP)
        cpu_start, switches = cpu_seconds(peer.pid), preemptions(peer.pid)
        own_switches = preemptions(os.getpid())
        await asyncio.sleep(run.measure_until - time.perf_counter())
        run.cpu_seconds = cpu_seconds(peer.pid) - cpu_start
        run.preempted = preemptions(peer.pid) - switches
        run.load_preempted = preemptions(os.getpid()) - own_switches
        await sender
        await tell({"stop": True})
        run.outcome = json.loads(await asyncio.wait_for(peer.stdout.readline(), 30))
    finally:
        if peer.stdin is not None:
            peer.stdin.close()
        try:
            await asyncio.wait_for(peer.wait(), 10)
        except TimeoutError:
            peer.kill()  # this process's own child, by its handle
            await peer.wait()
        for phone in run.phones:
            if phone.transport is not None:
                phone.transport.close()
    return run.report()


async def _speak(phones: list[Phone], seconds: float) -> None:
    """Every phone sends a packet every 20 ms, staggered over the 20 ms."""
    loop = asyncio.get_running_loop()
    slots = [phones[index::SLOTS] for index in range(SLOTS)]
    start = loop.time()
    for tick in range(int(seconds / PACKET_INTERVAL) * SLOTS):
        await asyncio.sleep(max(0.0, start + tick * PACKET_INTERVAL / SLOTS - loop.time()))
        for phone in slots[tick % SLOTS]:
            phone.send()


def _print(results: list[dict[str, object]], calls: int, seconds: float) -> None:
    print(f"\n{calls} callers, {seconds:g} s measured: {calls * 50} packets/s each way")
    print(
        f"{'peer':<12}{'loss %':>8}{'deliv %':>9}{'J ms':>8}{'J max':>8}"
        f"{'gap p50':>9}{'p99':>7}{'max':>8}{'cpu %':>7}{'preempt':>9}{'load pre':>9}"
    )
    for r in results:
        cpu = "-" if r["cpu_percent"] is None else f"{r['cpu_percent']:.1f}"
        print(
            f"{r['peer']:<12}{r['loss_percent']:>8.3f}{r['delivered_percent']:>9.2f}"
            f"{r['jitter_ms_mean']:>8.3f}{r['jitter_ms_max']:>8.2f}{r['gap_ms_p50']:>9.2f}"
            f"{r['gap_ms_p99']:>7.2f}{r['gap_ms_max']:>8.2f}{cpu:>7}{r['preempted']!s:>9}"
            f"{r['load_preempted']!s:>9}"
        )
    bare = next((r for r in results if r["peer"] == "bare"), None)
    ours = next((r for r in results if r["peer"] == "centralino"), None)
    if bare and ours and bare["cpu_percent"] and ours["cpu_percent"]:
        ratio = float(ours["cpu_percent"]) / float(bare["cpu_percent"])  # type: ignore[arg-type]
        print(f"CPU centralino / bare: {ratio:.2f}")
    for r in results:
        print(f"{r['peer']}: {r['outcome']}")


async def _main(args: argparse.Namespace) -> None:
    results = []
    for name in args.peers:
        results.append(await _measure(name, args))
        await asyncio.sleep(0.5)
    if args.json:
        print(json.dumps(results, indent=2))
    _print(results, args.calls, args.seconds)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        uvloop.run(_serve(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--inband", action="store_true", help="no telephone-event offered")
    parser.add_argument("--peers", nargs="+", default=["bare", "centralino"])
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--peer-core", default="0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.calls <= 2000 or not 1 <= args.seconds <= 120:
        parser.error("1-2000 calls, 1-120 seconds")
    if not set(args.peers) <= {"bare", "centralino"}:
        parser.error("peers: bare, centralino")
    os.sched_setaffinity(0, {int(args.load_core)})
    uvloop.run(_main(args))


if __name__ == "__main__":
    main()
