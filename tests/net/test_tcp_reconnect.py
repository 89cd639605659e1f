"""Requests to a phone over TCP whose connection is gone open a new one (RFC 3261 §18.1.1).

A real TCP listener plays the phone: it answers every request 200 on the
connection it came in on, can drop its connections, and can stop listening.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from centralino.net import open_tcp
from centralino.net.transport import Peer, TransportKind
from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request, make_response, parse_message
from centralino.sip.uri import Uri
from centralino.telephony.sip_server import ClientOutcome, SipServer, new_branch

GONE = Peer(TransportKind.TCP, "127.0.0.1", 40999)
"""The phone's source address of its registration: that connection is gone."""


class Phone:
    """A listening SIP phone over TCP."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []
        self.requests: list[Request] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request = parse_message(head)
                assert isinstance(request, Request)
                self.requests.append(request)
                writer.write(bytes(make_response(request, 200, to_tag="phone")))
                await writer.drain()

    def drop_connections(self) -> None:
        for writer in self.connections:
            writer.close()

    async def stop(self) -> None:
        self.drop_connections()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _options(sip: SipServer) -> Request:
    return make_request(
        "OPTIONS",
        Uri.parse("sip:101@127.0.0.1"),
        via=Via.parse(sip.via(TransportKind.TCP, new_branch())),
        from_address=NameAddress.parse("<sip:pbx@127.0.0.1>;tag=pbx"),
        to_address=NameAddress.parse("<sip:101@127.0.0.1>"),
        call_id=new_branch() + "@pbx",
        cseq=1,
    )


async def _send(sip: SipServer, peer: Peer) -> ClientOutcome:
    outcome: asyncio.Future[ClientOutcome] = asyncio.get_running_loop().create_future()

    def done(result: ClientOutcome) -> None:
        if not outcome.done():
            outcome.set_result(result)

    sip.send_request(_options(sip), peer, done)
    return await asyncio.wait_for(outcome, 5)


@pytest.fixture
async def sip() -> SipServer:
    server = SipServer()
    server.add_transport(await open_tcp("127.0.0.1", 0, server.receive))
    yield server
    server.close()


async def test_a_phone_whose_connection_is_gone_is_reached_on_a_new_one(sip: SipServer) -> None:
    phone = Phone()
    port = await phone.start()
    try:
        sip.remember_contact(GONE, ("127.0.0.1", port))
        first = await _send(sip, GONE)
        assert first.response is not None
        assert first.response.status == 200
        second = await _send(sip, GONE)  # the connection opened is reused
        assert second.response is not None
        assert len(phone.connections) == 1
        phone.drop_connections()
        await asyncio.sleep(0.05)  # the PBX sees the connection close
        third = await _send(sip, GONE)
        assert third.response is not None
        assert third.response.status == 200
        assert len(phone.connections) == 2  # a new connection to its Contact
        assert len(phone.requests) == 3
    finally:
        await phone.stop()


async def test_a_phone_that_no_longer_listens_gives_a_transport_error(sip: SipServer) -> None:
    phone = Phone()
    port = await phone.start()
    await phone.stop()
    sip.remember_contact(GONE, ("127.0.0.1", port))
    outcome = await _send(sip, GONE)
    assert outcome.transport_failed
    assert outcome.response is None


async def test_without_a_known_contact_the_peer_address_itself_is_tried(sip: SipServer) -> None:
    phone = Phone()
    port = await phone.start()
    try:
        outcome = await _send(sip, Peer(TransportKind.TCP, "127.0.0.1", port))
        assert outcome.response is not None
        assert outcome.response.status == 200
    finally:
        await phone.stop()
