"""SIP over TCP under abuse: caps, timeouts, malformed and oversized streams.

The engine is the real ``Telephony`` on loopback with short, test-sized
limits. Loopback answers on all of 127.0.0.0/8, so connections bound to
127.0.0.2 and 127.0.0.3 are two more "addresses" for the per-address cap.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import structlog

from centralino.net.tcp_limits import TcpLimits
from centralino.net.transport import TransportKind
from centralino.sip.digest import DigestClient, choose_challenge
from centralino.sip.message import Response, parse_message
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import PASSWORD, extension
from tests.telephony.registrar_support import start_telephony

IDLE = 1000
"""Idle connections the flood test holds open at once."""


def _store() -> InMemoryStore:
    store = InMemoryStore()
    store.seed(extensions=[extension("101")])
    return store


async def _engine(limits: TcpLimits) -> Telephony:
    settings = TelephonySettings(bind="127.0.0.1", port=0, media_anchoring=False, tcp=limits)
    return await start_telephony(_store(), FakeClock(), settings=settings)


@dataclass
class TcpPhone:
    """Extension 101 on one TCP connection: requests, keep-alive pings, answers."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    server_port: int
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cseq: int = 0

    @classmethod
    async def connect(cls, port: int) -> TcpPhone:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    @property
    def port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

    def text(self, method: str, *extra: str, content_length: int = 0) -> str:
        self.cseq += 1
        lines = [
            f"{method} sip:127.0.0.1:{self.server_port};transport=tcp SIP/2.0",
            f"Via: SIP/2.0/TCP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70",
            f"From: <sip:101@127.0.0.1>;tag={self.call_id[:8]}",
            "To: <sip:101@127.0.0.1>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            *extra,
            f"Content-Length: {content_length}",
            "",
            "",
        ]
        return "\r\n".join(lines)

    async def ask(self, text: str, *, ping: bool = False) -> Response:
        self.writer.write((b"\r\n\r\n" if ping else b"") + text.encode())
        await self.writer.drain()
        return await self.response()

    async def response(self, wait: float = 3.0) -> Response:
        while True:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), wait)
            head = head.lstrip(b"\r\n")  # pongs to our pings
            if not head:
                continue
            message = parse_message(head)
            assert isinstance(message, Response)
            length = message.headers.content_length() or 0
            if length:
                await self.reader.readexactly(length)
            return message

    async def register(self) -> Response:
        contact = f"Contact: <sip:101@127.0.0.1:{self.port};transport=tcp>"
        first = await self.ask(self.text("REGISTER", contact, "Expires: 3600"))
        assert first.status == 401
        challenge = choose_challenge(first.headers.get_all("www-authenticate"))
        assert challenge is not None
        uri = f"sip:127.0.0.1:{self.server_port};transport=tcp"
        credentials = DigestClient(username="user101", password=PASSWORD).authorize(
            challenge, method="REGISTER", uri=uri
        )
        authorization = f"Authorization: {credentials}"
        return await self.ask(self.text("REGISTER", contact, "Expires: 3600", authorization))

    def close(self) -> None:
        self.writer.close()


@dataclass
class Watched:
    """A client connection and when the server closed it (loop time)."""

    address: str
    opened: float
    writer: asyncio.StreamWriter
    closed: float | None = None


async def _watch(reader: asyncio.StreamReader, watched: Watched) -> None:
    try:
        while await reader.read(4096):
            pass
    except ConnectionError:
        pass
    watched.closed = asyncio.get_running_loop().time()


async def _open_many(
    port: int, address: str, count: int, watchers: set[asyncio.Task[None]]
) -> list[Watched]:
    loop = asyncio.get_running_loop()

    async def one() -> Watched:
        # Timed before connecting: the server accepts (and starts its timer)
        # after this moment, whereas the connect's return may come much later
        # on a loaded loop.
        asked = loop.time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        watched = Watched(address, asked, writer)
        watchers.add(asyncio.create_task(_watch(reader, watched)))
        return watched

    opened: list[Watched] = []
    for start in range(0, count, 100):  # within the listen backlog
        opened += await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return opened


async def _until(condition: Callable[[], bool], wait: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    while not condition() and loop.time() < end:  # noqa: ASYNC110  # polls other tasks' results
        await asyncio.sleep(0.05)
    return condition()


@pytest.fixture
def descriptors() -> None:
    """Room for both ends of the flood test's connections in this one process."""
    needed = 2 * (IDLE + 300) + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def test_1000_idle_connections_are_capped_and_timed_out_while_a_phone_works(
    descriptors: None,
) -> None:
    limits = TcpLimits(
        first_message_timeout=3.0,
        idle_timeout=2.0,
        max_per_address=600,
        max_connections=IDLE + 1,  # the idle flood and the phone
    )
    telephony = await _engine(limits)
    phone = await TcpPhone.connect(telephony.port(TransportKind.TCP))
    watchers: set[asyncio.Task[None]] = set()
    opened: list[Watched] = []
    latencies: list[float] = []
    stop = asyncio.Event()

    async def keep_calling() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            start = loop.time()
            answer = await phone.ask(phone.text("OPTIONS"), ping=True)
            assert answer.status == 200
            latencies.append(loop.time() - start)
            await asyncio.sleep(0.1)

    try:
        assert (await phone.register()).status == 200
        [binding] = telephony.registrar.contacts("101")
        assert binding.transport == "tcp"
        calling = asyncio.create_task(keep_calling())
        with structlog.testing.capture_logs() as logs:
            port = telephony.port(TransportKind.TCP)
            opened += await _open_many(port, "127.0.0.2", 700, watchers)
            opened += await _open_many(port, "127.0.0.3", 500, watchers)
            # Past the per-address cap (600 from .2) and the total cap (1,001 with the phone).
            await asyncio.sleep(0.5)
        refused = [w for w in opened if w.closed is not None]
        assert {a: sum(w.address == a for w in refused) for a in ("127.0.0.2", "127.0.0.3")} == {
            "127.0.0.2": 100,
            "127.0.0.3": 100,
        }
        assert all(w.closed is not None and w.closed - w.opened < 0.5 for w in refused)
        refusals = [e for e in logs if e["event"] == "tcp connection refused"]
        assert [(e["address"], e["reason"]) for e in refusals] == [
            ("127.0.0.2", "per-address cap"),
            ("127.0.0.3", "total cap"),
        ]
        idle = [w for w in opened if w.closed is None]
        assert len(idle) == IDLE
        # The idle ones are closed when their first message is overdue; not before.
        assert await _until(lambda: all(w.closed is not None for w in idle), 6.0)
        waited = [w.closed - w.opened for w in idle if w.closed is not None]
        assert min(waited) >= limits.first_message_timeout - 0.1
        assert max(waited) < limits.first_message_timeout + 1.5
        # The phone pinged and asked throughout, past its idle timeout: still served.
        stop.set()
        await calling
        assert len(latencies) > 20
        assert max(latencies) < 0.5
        assert (await phone.ask(phone.text("OPTIONS"))).status == 200
        # Room again for the address that was over its cap.
        [again] = await _open_many(port, "127.0.0.2", 1, watchers)
        opened.append(again)
        await asyncio.sleep(0.3)
        assert again.closed is None
    finally:
        stop.set()
        phone.close()
        for watched in opened:
            watched.writer.close()
        await telephony.stop()
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


@pytest.fixture
async def engine() -> AsyncIterator[Telephony]:
    limits = TcpLimits(
        first_message_timeout=5.0,
        message_timeout=0.5,
        idle_timeout=1.0,
        max_head_size=2048,
        max_body_size=1024,
    )
    telephony = await _engine(limits)
    yield telephony
    await telephony.stop()


async def _closed_after(phone: TcpPhone, wait: float) -> float:
    """Seconds until the server closes ``phone``'s connection (fails past ``wait``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while await asyncio.wait_for(phone.reader.read(4096), wait):
        pass
    return loop.time() - start


async def test_a_half_sent_message_is_closed_after_the_message_timeout(engine: Telephony) -> None:
    phone = await TcpPhone.connect(engine.port(TransportKind.TCP))
    try:
        assert (await phone.ask(phone.text("OPTIONS"))).status == 200
        phone.writer.write(phone.text("OPTIONS").encode()[:40])
        assert 0.4 < await _closed_after(phone, 2.0) < 1.0
    finally:
        phone.close()


async def test_an_idle_connection_is_closed_and_keepalives_keep_one_open(
    engine: Telephony,
) -> None:
    port = engine.port(TransportKind.TCP)
    quiet, pinging = await TcpPhone.connect(port), await TcpPhone.connect(port)
    try:
        for phone in (quiet, pinging):
            assert (await phone.ask(phone.text("OPTIONS"))).status == 200
        closing = asyncio.create_task(_closed_after(quiet, 3.0))
        for _ in range(8):  # 2.4 s of pings, every 0.3 s: past the 1 s idle timeout
            pinging.writer.write(b"\r\n\r\n")
            assert await asyncio.wait_for(pinging.reader.readexactly(2), 1.0) == b"\r\n"
            await asyncio.sleep(0.3)
        assert 0.9 < await closing < 1.5
        assert (await pinging.ask(pinging.text("OPTIONS"))).status == 200
    finally:
        quiet.close()
        pinging.close()


GARBAGE = [
    b"OPTIONS sip:x SIP/2.0\r\nContent-Length: many\r\n\r\n",  # framing lost
    b"\x16\x03\x01\x02\x00" + b"\xff" * 4000,  # TLS on the TCP port, over the head limit
    b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP",  # closed in the middle of a message
]


async def test_malformed_streams_log_one_line_per_connection_and_no_traceback(
    engine: Telephony, caplog: pytest.LogCaptureFixture
) -> None:
    port = engine.port(TransportKind.TCP)
    streams = GARBAGE * 10
    with structlog.testing.capture_logs() as logs, caplog.at_level(logging.DEBUG, "asyncio"):
        phones = [await TcpPhone.connect(port) for _ in streams]
        for phone, garbage in zip(phones, streams, strict=True):
            phone.writer.write(garbage)
            phone.writer.write_eof()
        for phone in phones:
            await _closed_after(phone, 2.0)
            phone.close()
        await asyncio.sleep(0.1)
    malformed = [e for e in logs if e["event"] == "tcp stream malformed"]
    assert len(malformed) == len(streams)
    assert {e["peer"] for e in malformed} == {f"127.0.0.1:{p.port}" for p in phones}
    assert all(e["log_level"] == "warning" and "exc_info" not in e for e in malformed)
    assert not [e for e in logs if "exc_info" in e or "exception" in e]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_an_oversized_message_closes_its_connection_after_an_answer(
    engine: Telephony,
) -> None:
    port = engine.port(TransportKind.TCP)
    other, big_body, big_head = [await TcpPhone.connect(port) for _ in range(3)]
    try:
        assert (await other.ask(other.text("OPTIONS"))).status == 200
        big_body.writer.write(big_body.text("OPTIONS", content_length=5000).encode())
        assert (await big_body.response()).status == 413
        long_field = "X-Padding: " + "y" * 3000
        big_head.writer.write(big_head.text("OPTIONS", long_field).encode())
        assert (await big_head.response()).status == 513
        for phone in (big_body, big_head):
            await _closed_after(phone, 2.0)
        assert (await other.ask(other.text("OPTIONS"))).status == 200
    finally:
        for phone in (other, big_body, big_head):
            phone.close()
