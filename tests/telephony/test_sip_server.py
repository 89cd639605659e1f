"""The SIP server spine on real loopback sockets (UDP and TCP)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from centralino.net import open_tcp, open_udp
from centralino.net.transport import TransportKind
from centralino.sip.message import Response, parse_message
from centralino.telephony import engine as engine_module
from centralino.telephony.sip_server import IncomingRequest, SipServer
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.registrar_support import start_telephony

OPTIONS = (
    "OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:probe@127.0.0.1>;tag=abc\r\n"
    "To: <sip:pbx@127.0.0.1>\r\n"
    "Call-ID: {branch}@test\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


@pytest.fixture
async def server() -> SipServer:
    sip = SipServer()
    sip.add_transport(await open_udp("127.0.0.1", 0, sip.receive))
    sip.add_transport(await open_tcp("127.0.0.1", 0, sip.receive))

    def answer(incoming: IncomingRequest) -> None:
        incoming.respond(200, headers=[("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")])

    sip.route("OPTIONS", answer)
    yield sip
    sip.close()


async def _udp_exchange(port: int, payload: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, payload, ("127.0.0.1", port))
        return await asyncio.wait_for(loop.sock_recv(sock, 65535), 2)


async def test_options_over_udp_gets_200_with_rport(server: SipServer) -> None:
    port = server.local_port()
    data = OPTIONS.format(transport="UDP", port=1, branch="udp1").encode()
    response = parse_message(await _udp_exchange(port, data))
    assert isinstance(response, Response)
    assert response.status == 200
    via = response.headers.vias()[0]
    assert via.received == "127.0.0.1"
    assert via.rport is not None
    assert via.rport != 1


async def test_malformed_request_gets_400_and_server_keeps_working(server: SipServer) -> None:
    port = server.local_port()
    broken = OPTIONS.format(transport="UDP", port=1, branch="bad").replace(
        "CSeq: 1 OPTIONS", "CSeq: x"
    )
    answer = await _udp_exchange(port, broken.encode())
    assert answer.startswith(b"SIP/2.0 400 ")  # its CSeq is echoed as is: not parseable
    good = OPTIONS.format(transport="UDP", port=1, branch="good").encode()
    after = parse_message(await _udp_exchange(port, good))
    assert isinstance(after, Response)
    assert after.status == 200


async def test_unknown_method_gets_501(server: SipServer) -> None:
    data = OPTIONS.format(transport="UDP", port=1, branch="x501").replace("OPTIONS", "FOOBAR")
    response = parse_message(await _udp_exchange(server.local_port(), data.encode()))
    assert isinstance(response, Response)
    assert response.status == 501


async def test_options_over_tcp_answered_on_the_same_connection(server: SipServer) -> None:
    from centralino.net.transport import TransportKind

    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.local_port(TransportKind.TCP)
    )
    try:
        writer.write(b"\r\n\r\n")  # keep-alive ping first
        writer.write(OPTIONS.format(transport="TCP", port=1, branch="tcp1").encode())
        await writer.drain()
        pong = await asyncio.wait_for(reader.readexactly(2), 2)
        assert pong == b"\r\n"
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        response = parse_message(head)
        assert isinstance(response, Response)
        assert response.status == 200
    finally:
        writer.close()


async def test_port_zero_picks_a_port_free_for_both_udp_and_tcp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = socket.socket()  # a TCP listener on a port whose UDP side is free
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy_port = taken.getsockname()[1]
    real_open_udp = engine_module.open_udp
    picks: list[int] = []

    async def first_pick_is_taken(host: str, port: int, receive: Any) -> Any:
        chosen = busy_port if not picks else port
        transport = await real_open_udp(host, chosen, receive)
        picks.append(transport.local_address[1])
        return transport

    monkeypatch.setattr(engine_module, "open_udp", first_pick_is_taken)
    try:
        telephony = await start_telephony(InMemoryStore(), FakeClock())
        try:
            assert picks[0] == busy_port
            assert telephony.port() not in (0, busy_port)
            assert telephony.port(TransportKind.TCP) == telephony.port()
        finally:
            await telephony.stop()
    finally:
        taken.close()
