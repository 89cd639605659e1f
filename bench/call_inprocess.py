"""Call-setup cost inside one process: server CPU per whole call, and a profile.

Theory of operation. SIPp runs measure the whole system on a shared
machine; this driver measures only Centralino's path for one call,
deterministically, so a change can be judged in seconds. It builds the real
engine (``build_engine``: SQLite directory seeded with ``--users`` caller
extensions and one callee, media anchoring on, RTP sockets real), replaces
the UDP transport by a recorder, registers the callee, and then for each
call feeds ``SipServer.receive`` the datagrams SIPp's ``call_uac.xml`` and
``call_uas.xml`` send: INVITE, 407, ACK, INVITE with Proxy-Authorization,
the callee's 180 and 200 (with SDP), the caller's ACK, the caller's BYE
and the callee's 200 to it. The phones' messages are written outside the
timed part; every ``receive`` is timed with ``time.process_time``. Every
``--batch`` calls the event loop runs once (transaction timers fire). The
garbage collector runs with ``serve``'s thresholds (``--gc-threshold``;
before session 5 this bench ran with Python's default, 700 10 10, and
reported the collections that ``serve`` does not make).

    .venv/bin/python bench/call_inprocess.py --count 3000
    .venv/bin/python bench/call_inprocess.py --count 2000 --profile 40
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from sip_inprocess import _Clock, _register, _Store  # noqa: E402
from sip_register import PASSWORD, seed_centralino, users  # noqa: E402

from centralino.app import _configure_logging, build_engine  # noqa: E402
from centralino.domain.bus import LocalEventBus  # noqa: E402
from centralino.net.transport import Peer, TransportKind  # noqa: E402
from centralino.sip.digest import DigestChallenge, DigestClient  # noqa: E402
from centralino.sip.message import Request, Response, parse_message  # noqa: E402
from centralino.storage import Database, SqlUnitOfWorkFactory, sqlite_url  # noqa: E402
from centralino.telephony.engine import TelephonySettings  # noqa: E402

CALLEE = ("benchcallee", PASSWORD.format(index=99999), "29999")
CALLER_PEER = Peer(TransportKind.UDP, "127.0.0.1", 5070)
CALLEE_PEER = Peer(TransportKind.UDP, "127.0.0.1", 5080)


def _sdp(port: int) -> str:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


class _Recorder:
    """Stands in for the UDP transport: keeps every datagram sent, with its peer."""

    kind = TransportKind.UDP
    local_address = ("127.0.0.1", 5060)

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Peer]] = []

    def send(self, data: bytes, peer: Peer, on_failure: object = None) -> bool:
        self.sent.append((data, peer))
        return True

    def take(self) -> list[tuple[Request | Response, Peer]]:
        out = [(parse_message(data), peer) for data, peer in self.sent]
        self.sent.clear()
        return out

    def close(self) -> None:
        return None


def _invite(index: int, user: str, cseq: int, branch: str, authorization: str = "") -> bytes:
    body = _sdp(6000)
    lines = [
        f"INVITE sip:{CALLEE[2]}@127.0.0.1:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch};rport",
        f"From: <sip:{user}@127.0.0.1>;tag={index}c",
        f"To: <sip:{CALLEE[2]}@127.0.0.1>",
        f"Call-ID: {index}-call@127.0.0.1",
        f"CSeq: {cseq} INVITE",
        f"Contact: <sip:{user}@127.0.0.1:5070>",
        "Max-Forwards: 70",
        "Content-Type: application/sdp",
    ]
    if authorization:
        lines.append(f"Proxy-Authorization: {authorization}")
    lines += [f"Content-Length: {len(body)}", "", body]
    return "\r\n".join(lines).encode()


def _in_dialog(method: str, ok: Response, index: int, cseq: int, branch: str, uri: str) -> bytes:
    headers = ok.headers
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch};rport",
        f"From: {headers.single('from')}",
        f"To: {headers.single('to')}",
        f"Call-ID: {index}-call@127.0.0.1",
        f"CSeq: {cseq} {method}",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def _answer(request: Request, status: int, reason: str, body: str = "") -> bytes:
    headers = request.headers
    vias = [f"Via: {value}" for value in headers.get_all("via")]
    to = headers.single("to")
    lines = [
        f"SIP/2.0 {status} {reason}",
        *vias,
        f"From: {headers.single('from')}",
        f"To: {to}" + ("" if ";tag=" in to else ";tag=callee1"),
        f"Call-ID: {headers.call_id()}",
        f"CSeq: {headers.single('cseq')}",
        "Contact: <sip:callee@127.0.0.1:5080>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body)}", "", body]
    return "\r\n".join(lines).encode()


def _one(
    messages: list[tuple[Request | Response, Peer]], kind: str, peer: Peer
) -> Request | Response:
    for message, to in messages:
        if to == peer and (
            (isinstance(message, Request) and message.method == kind)
            or (isinstance(message, Response) and str(message.status) == kind)
        ):
            return message
    raise AssertionError(f"no {kind} to {peer}: {[str(m)[:40] for m, _ in messages]}")


async def run(args: argparse.Namespace) -> None:
    """Seed, start the engine, register the callee, drive the calls, report."""
    rows = users(args.users)
    _configure_logging()  # as ``serve`` logs (one line per call)
    with tempfile.TemporaryDirectory(prefix="bench-call-inproc-") as work:
        data = Path(work)
        await seed_centralino(data, [*rows, CALLEE])
        database = Database(sqlite_url(data))
        telephony = build_engine(
            TelephonySettings(bind="127.0.0.1", port=0, media_anchoring=not args.no_anchoring),
            units=SqlUnitOfWorkFactory(database),
            store=_Store(),  # type: ignore[arg-type]
            events=LocalEventBus(),
            clock=_Clock(),  # type: ignore[arg-type]
        )
        await telephony.start()
        recorder = _Recorder()
        telephony.sip.add_transport(recorder)  # type: ignore[arg-type]
        receive = telephony.sip.receive
        _register_callee(receive, recorder)
        gc.collect()
        gc.freeze()
        gc.set_threshold(*args.gc_threshold)
        profiler = cProfile.Profile() if args.profile else None
        cpu = [0.0]

        def timed(data: bytes, peer: Peer) -> None:
            before = time.process_time()
            if profiler:
                profiler.enable()
            receive(data, peer)
            if profiler:
                profiler.disable()
            cpu[0] += time.process_time() - before

        answered = 0
        started = time.perf_counter()
        for index in range(args.count):
            user, password, _ = rows[index % len(rows)]
            answered += _call(timed, recorder, index, user, password)
            if index % args.batch == 0:
                await asyncio.sleep(0)
        wall = time.perf_counter() - started
        await telephony.stop()
        await database.dispose()
    per_call = cpu[0] / args.count
    print(
        f"calls {args.count}  answered and hung up {answered}  server CPU"
        f" {1e6 * per_call:.0f} us/call (= {1 / per_call:.0f} calls/s on one core)"
        f"  wall {wall:.1f}s"
    )
    if profiler:
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile)
            print(out.getvalue())


def _register_callee(receive: object, recorder: _Recorder) -> None:
    user, password, _ = CALLEE
    send = receive  # type: ignore[assignment]
    first = _register(user, 0, 1, "reg1").replace(b"5070", b"5080")
    send(first, CALLEE_PEER)  # type: ignore[operator]
    [(challenge_message, _)] = recorder.take()
    assert isinstance(challenge_message, Response)
    header = challenge_message.headers.single("www-authenticate")
    client = DigestClient(username=user, password=password)
    credentials = client.authorize(
        DigestChallenge.parse(header), method="REGISTER", uri="sip:127.0.0.1:5060"
    )
    second = _register(user, 0, 2, "reg2", str(credentials)).replace(b"5070", b"5080")
    send(second, CALLEE_PEER)  # type: ignore[operator]
    [(ok, _)] = recorder.take()
    assert isinstance(ok, Response), ok
    assert ok.status == 200, ok


def _call(timed: object, recorder: _Recorder, index: int, user: str, password: str) -> int:
    send = timed  # type: ignore[assignment]
    send(_invite(index, user, 1, f"{index}i1"), CALLER_PEER)  # type: ignore[operator]
    challenge = _one(recorder.take(), "407", CALLER_PEER)
    ack = _in_dialog("ACK", challenge, index, 1, f"{index}i1", f"sip:{CALLEE[2]}@127.0.0.1:5060")  # type: ignore[arg-type]
    send(ack, CALLER_PEER)  # type: ignore[operator]
    header = challenge.headers.single("proxy-authenticate")
    client = DigestClient(username=user, password=password)
    credentials = client.authorize(
        DigestChallenge.parse(header), method="INVITE", uri=f"sip:{CALLEE[2]}@127.0.0.1:5060"
    )
    send(_invite(index, user, 2, f"{index}i2", str(credentials)), CALLER_PEER)  # type: ignore[operator]
    fork = _one(recorder.take(), "INVITE", CALLEE_PEER)
    assert isinstance(fork, Request)
    send(_answer(fork, 180, "Ringing"), CALLEE_PEER)  # type: ignore[operator]
    send(_answer(fork, 200, "OK", _sdp(7000)), CALLEE_PEER)  # type: ignore[operator]
    ok = _one(recorder.take(), "200", CALLER_PEER)
    assert isinstance(ok, Response)
    contact = ok.headers.name_addresses("contact")[0].uri
    send(_in_dialog("ACK", ok, index, 2, f"{index}a2", str(contact)), CALLER_PEER)  # type: ignore[operator]
    send(_in_dialog("BYE", ok, index, 3, f"{index}b3", str(contact)), CALLER_PEER)  # type: ignore[operator]
    bye = _one(recorder.take(), "BYE", CALLEE_PEER)
    assert isinstance(bye, Request)
    send(_answer(bye, 200, "OK"), CALLEE_PEER)  # type: ignore[operator]
    recorder.take()
    return 1


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=10, help="calls between loop turns")
    parser.add_argument("--no-anchoring", action="store_true", help="SDP passed through")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--profile-out", default="", help="also write the profile to this file")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        nargs=3,
        default=[20_000, 5, 100],
        help="as in serve (app.py); 700 10 10 is Python's default",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
