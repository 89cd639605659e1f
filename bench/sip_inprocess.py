"""REGISTER-with-digest cost inside one process: CPU per exchange, and a profile.

Theory of operation. SIPp runs measure the whole system; this driver
measures only Centralino's SIP path, deterministically, so a change can be
judged in seconds. It builds the real engine (``Telephony``, SQLite
directory seeded with ``--users`` extensions, in-memory location store),
replaces the UDP transport's socket by a recorder, and feeds
``SipServer.receive`` the datagrams SIPp's ``register_digest.xml`` sends:
REGISTER, read the 401's nonce, REGISTER with credentials (computed by
``DigestClient`` outside the timed part), read the 200. Every
``--batch`` exchanges the event loop runs once, so transaction timers
(Timer J) fire and the live-transaction population reaches the same steady
state as under SIPp. Reported: server CPU microseconds per exchange (the
sum of ``time.process_time`` around each ``receive``), live transactions,
and with ``--profile`` the top functions of a cProfile run.

    .venv/bin/python bench/sip_inprocess.py --count 40000
    .venv/bin/python bench/sip_inprocess.py --count 20000 --profile 40
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from sip_register import seed_centralino, users  # noqa: E402

from centralino.app import build_engine  # noqa: E402
from centralino.domain.bus import LocalEventBus  # noqa: E402
from centralino.domain.location import Binding  # noqa: E402
from centralino.net.transport import Peer, TransportKind  # noqa: E402
from centralino.sip.digest import DigestChallenge, DigestClient  # noqa: E402
from centralino.storage import Database, SqlUnitOfWorkFactory, sqlite_url  # noqa: E402
from centralino.telephony.engine import TelephonySettings  # noqa: E402

_NONCE = re.compile(rb"WWW-Authenticate: ([^\r\n]+)")


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        import datetime as dt

        return dt.datetime.now(dt.UTC)


class _Store:
    """An in-memory LocationStore (persistence is not what is measured)."""

    async def all(self) -> Sequence[Binding]:
        return []

    async def replace_many(self, changes: Mapping[str, Sequence[Binding]]) -> None:
        return None

    async def replace_for(self, number: str, bindings: Sequence[Binding]) -> None:
        return None

    async def remove_all(self, number: str) -> None:
        return None


class _Recorder:
    """Stands in for the UDP transport: keeps the last datagram sent."""

    kind = TransportKind.UDP
    local_address = ("127.0.0.1", 5060)

    def __init__(self) -> None:
        self.last = b""

    def send(self, data: bytes, peer: Peer, on_failure: object = None) -> bool:
        self.last = data
        return True

    def close(self) -> None:
        return None


def _register(user: str, index: int, cseq: int, branch: str, authorization: str = "") -> bytes:
    lines = [
        "REGISTER sip:127.0.0.1:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch};rport",
        f"From: <sip:{user}@127.0.0.1>;tag=4242b{index}",
        f"To: <sip:{user}@127.0.0.1>",
        f"Call-ID: {index}-4242@127.0.0.1",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@127.0.0.1:5070>",
        "Expires: 3600",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    lines += ["Max-Forwards: 70", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


async def run(args: argparse.Namespace) -> None:
    """Seed, start the engine, drive the exchanges, report."""
    rows = users(args.users)
    with tempfile.TemporaryDirectory(prefix="bench-sip-inproc-") as work:
        data = Path(work)
        await seed_centralino(data, rows)
        database = Database(sqlite_url(data))
        telephony = build_engine(
            TelephonySettings(bind="127.0.0.1", port=0),
            units=SqlUnitOfWorkFactory(database),
            store=_Store(),  # type: ignore[arg-type]
            events=LocalEventBus(),
            clock=_Clock(),  # type: ignore[arg-type]
        )
        await telephony.start()
        if args.full_path:  # the engine answers challenges statelessly: not this time
            telephony.sip.route_stateless("REGISTER", None)
        recorder = _Recorder()
        telephony.sip.add_transport(recorder)  # type: ignore[arg-type]
        gc.collect()
        gc.freeze()
        gc.set_threshold(*args.gc_threshold)
        gc_time = [0.0, 0.0]  # total, start of the current pass
        gc_longest = [0.0, 0.0, 0.0]  # longest pass per generation

        def gc_probe(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_time[1] = time.process_time()
            else:
                spent = time.process_time() - gc_time[1]
                gc_time[0] += spent
                generation = info["generation"]
                gc_longest[generation] = max(gc_longest[generation], spent)

        gc.callbacks.append(gc_probe)
        profiler = cProfile.Profile() if args.profile else None
        receive = telephony.sip.receive
        peer = Peer(TransportKind.UDP, "127.0.0.1", 5070)
        cpu = 0.0
        ok = 0
        started = time.perf_counter()
        for index in range(args.count):
            user, password, _ = rows[index % len(rows)]
            first = _register(user, index, 1, f"{index}a")
            before = time.process_time()
            if profiler:
                profiler.enable()
            receive(first, peer)
            if profiler:
                profiler.disable()
            cpu += time.process_time() - before
            match = _NONCE.search(recorder.last)
            assert match is not None, recorder.last[:200]
            challenge = DigestChallenge.parse(match[1].decode())
            client = DigestClient(username=user, password=password)
            credentials = client.authorize(challenge, method="REGISTER", uri="sip:127.0.0.1:5060")
            second = _register(user, index, 2, f"{index}b", str(credentials))
            before = time.process_time()
            if profiler:
                profiler.enable()
            receive(second, peer)
            if profiler:
                profiler.disable()
            cpu += time.process_time() - before
            ok += recorder.last.startswith(b"SIP/2.0 200")
            if index % args.batch == 0:
                await asyncio.sleep(0)
        wall = time.perf_counter() - started
        live = len(telephony.sip._layer)
        gc.callbacks.remove(gc_probe)
        await telephony.stop()
        await database.dispose()
    print(
        f"exchanges {args.count}  200 OK {ok}  server CPU {1e6 * cpu / args.count:.0f} us/exchange"
        f"  (= {args.count / cpu:.0f}/s on one core)  live transactions {live}"
        f"  wall {wall:.1f}s  of which GC {1e6 * gc_time[0] / args.count:.0f} us/exchange"
        f"  (longest pass per generation: {', '.join(f'{1e3 * t:.0f}' for t in gc_longest)} ms)"
    )
    if profiler:
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--count", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=50, help="exchanges between loop turns")
    parser.add_argument(
        "--full-path", action="store_true", help="no stateless 401s (every request parsed)"
    )
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--profile-out", default="", help="also write the profile to this file")
    parser.add_argument(
        "--gc-threshold", type=int, nargs=3, default=[20_000, 5, 100], help="as in serve"
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
