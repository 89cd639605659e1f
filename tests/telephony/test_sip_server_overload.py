"""The SIP server's intake: 400s, retransmissions absorbed unparsed, overload 503s, one drain.

Overload admission is driven by the ``queued`` delay a transport reports,
so these tests inject delays instead of sleeping. The 400 cases go through
real UDP sockets (raw datagrams).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from centralino.net import open_udp
from centralino.net.transport import Peer, SendFailure, TransportKind
from centralino.sip.message import Request, Response, parse_message
from centralino.sip.overload import OverloadSettings
from centralino.telephony.sip_server import IncomingRequest, SipServer

PEER = Peer(TransportKind.UDP, "192.0.2.7", 5070)


def _request(
    method: str = "REGISTER",
    *,
    branch: str = "z9hG4bKone",
    to_tag: str = "",
    extra: str = "",
    call_id: str | None = "c1@phone",
    body: bytes = b"",
    content_length: int | None = None,
) -> bytes:
    lines = [
        f"{method} sip:pbx.example.com SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.7:5070;branch={branch};rport",
        "Max-Forwards: 70",
        "From: <sip:101@pbx.example.com>;tag=f1",
        f"To: <sip:101@pbx.example.com>{to_tag}",
        *([f"Call-ID: {call_id}"] if call_id is not None else []),
        f"CSeq: 1 {method}",
        *([extra] if extra else []),
        f"Content-Length: {len(body) if content_length is None else content_length}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


class Recorder:
    """A UDP transport that records what is sent, and when."""

    kind = TransportKind.UDP
    local_address = ("127.0.0.1", 5060)

    def __init__(self, log: list[str] | None = None) -> None:
        self.sent: list[bytes] = []
        self.log = log if log is not None else []

    def send(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        self.sent.append(data)
        self.log.append("sent " + data.split(b"\r\n", 1)[0].decode())
        return True

    def close(self) -> None:
        return None

    def statuses(self) -> list[int]:
        return [int(data.split(b" ", 2)[1]) for data in self.sent]


class Handlers:
    def __init__(self, server: SipServer, log: list[str]) -> None:
        self.calls: list[Request] = []
        self.log = log
        for method in ("REGISTER", "INVITE", "BYE", "OPTIONS"):
            server.route(method, self.answer)

    def answer(self, incoming: IncomingRequest) -> None:
        self.calls.append(incoming.request)
        incoming.respond(200)
        self.log.append("handler returned")


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def transport(log: list[str]) -> Recorder:
    return Recorder(log)


@pytest.fixture
async def server(transport: Recorder) -> SipServer:
    sip = SipServer(clock=lambda: 100.0, overload=OverloadSettings(bound=0.2, retry_after=7))
    sip.add_transport(transport)
    yield sip
    sip.close()


@pytest.fixture
def handlers(server: SipServer, log: list[str]) -> Handlers:
    return Handlers(server, log)


async def test_a_retransmission_is_absorbed_without_reaching_the_handler(
    server: SipServer, transport: Recorder, handlers: Handlers
) -> None:
    server.receive(_request(), PEER)
    server.receive(_request(), PEER, queued=3.0)  # late, yet part of admitted work
    assert len(handlers.calls) == 1
    assert transport.sent[0] == transport.sent[1]  # the same 200, resent
    assert server.counters.retransmissions_absorbed == 1
    assert server.counters.received == 2


async def test_past_the_bound_new_requests_get_503_with_retry_after(
    server: SipServer, transport: Recorder, handlers: Handlers
) -> None:
    server.receive(_request("INVITE", branch="z9hG4bKnew"), PEER, queued=0.25)
    server.receive(_request("REGISTER", branch="z9hG4bKreg"), PEER, queued=0.25)
    assert handlers.calls == []
    assert transport.statuses() == [503, 503]
    response = parse_message(transport.sent[0])
    assert isinstance(response, Response)
    assert response.headers.get("retry-after") == "7"
    assert response.headers.to_address().tag
    assert server.counters.rejected_overload == 2
    assert server.stats()["rejected_overload"] == 2


async def test_under_half_the_bound_everything_is_served(
    server: SipServer, transport: Recorder, handlers: Handlers
) -> None:
    server.receive(_request("INVITE", branch="z9hG4bKa"), PEER, queued=0.09)
    assert transport.statuses() == [100, 200]
    assert server.counters.queue_delay == pytest.approx(0.09)


async def test_past_the_bound_admitted_work_is_still_served(
    server: SipServer, transport: Recorder, handlers: Handlers
) -> None:
    in_dialog = _request("BYE", branch="z9hG4bKbye", to_tag=";tag=t1")
    server.receive(in_dialog, PEER, queued=5.0)
    answer = (
        'Authorization: Digest username="101", realm="pbx", nonce="n", uri="sip:x", response="r"'
    )
    server.receive(_request(branch="z9hG4bKauth", extra=answer), PEER, queued=0.3)
    assert [r.method for r in handlers.calls] == ["BYE", "REGISTER"]
    server.receive(_request(branch="z9hG4bKlate", extra=answer), PEER, queued=1.1)
    assert transport.statuses() == [200, 200, 503]  # credentials: refused past 5 x the bound


async def test_responses_and_acks_are_served_past_the_bound(
    server: SipServer, transport: Recorder
) -> None:
    outcomes = []
    request = Request.parse(_request("OPTIONS", branch="z9hG4bKout"))
    server.send_request(request, PEER, outcomes.append)
    response = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKout\r\n"
        b"From: <sip:101@pbx.example.com>;tag=f1\r\nTo: <sip:101@pbx.example.com>;tag=x\r\n"
        b"Call-ID: c1@phone\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    server.receive(response, PEER, queued=9.0)
    assert outcomes[0].response.status == 200


async def test_overload_control_can_be_turned_off(transport: Recorder) -> None:
    sip = SipServer(overload=OverloadSettings(bound=0))
    sip.add_transport(transport)
    Handlers(sip, [])
    sip.receive(_request(), PEER, queued=60.0)
    assert transport.statuses() == [200]
    sip.close()


async def test_a_response_given_in_the_handler_is_sent_by_the_one_drain(
    server: SipServer, handlers: Handlers, log: list[str]
) -> None:
    server.receive(_request(), PEER)
    assert log == ["handler returned", "sent SIP/2.0 200 OK"]  # queued, not a nested drain


async def test_a_handler_that_responds_twice_sends_both_in_order(
    server: SipServer, transport: Recorder
) -> None:
    def ring_then_answer(incoming: IncomingRequest) -> None:
        incoming.respond(180)
        incoming.respond(200)

    server.route("INVITE", ring_then_answer)
    server.receive(_request("INVITE"), PEER)
    assert transport.statuses() == [100, 180, 200]


# 400s on a real socket (RFC 3261 §8.1.1, §18.3) --------------------------------


@pytest.fixture
async def udp_server() -> SipServer:
    sip = SipServer()
    sip.add_transport(await open_udp("127.0.0.1", 0, sip.receive))
    Handlers(sip, [])
    yield sip
    sip.close()


async def _exchange(port: int, payload: bytes, wait: float = 2.0) -> bytes:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, payload, ("127.0.0.1", port))
        return await asyncio.wait_for(loop.sock_recv(sock, 65535), wait)


@pytest.mark.parametrize("missing", ["Call-ID", "From", "To", "CSeq"])
async def test_a_request_missing_a_mandatory_field_gets_400(
    udp_server: SipServer, missing: str
) -> None:
    data = b"\r\n".join(
        line
        for line in _request("OPTIONS").split(b"\r\n")
        if not line.startswith(missing.encode() + b":")
    )
    answer = await _exchange(udp_server.local_port(), data)
    assert answer.startswith(b"SIP/2.0 400 ")
    assert b"\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKone" in answer
    assert (b"\r\n" + missing.encode() + b":") not in answer  # what it lacked, it lacks
    assert udp_server.counters.bad_requests == 1


async def test_a_request_without_via_is_dropped_silently(udp_server: SipServer) -> None:
    data = b"\r\n".join(line for line in _request().split(b"\r\n") if not line.startswith(b"Via"))
    with pytest.raises(TimeoutError):
        await _exchange(udp_server.local_port(), data, wait=0.3)


async def test_a_datagram_shorter_than_its_content_length_gets_400(
    udp_server: SipServer,
) -> None:
    data = _request("OPTIONS", body=b"v=0\r\n", content_length=200)
    answer = await _exchange(udp_server.local_port(), data)
    assert answer.startswith(b"SIP/2.0 400 ")
    response = parse_message(answer)
    assert isinstance(response, Response)
    assert response.headers.call_id() == "c1@phone"


async def test_the_ack_of_a_stateless_503_is_dropped_unparsed(
    server: SipServer, transport: Recorder
) -> None:
    acks: list[IncomingRequest] = []
    server.route("ACK", acks.append)
    server.receive(_request("INVITE", branch="z9hG4bKinv"), PEER, queued=0.5)
    refused = parse_message(transport.sent[0])
    assert isinstance(refused, Response)
    tag = refused.headers.to_address().tag
    assert tag is not None
    assert tag.startswith("sl")
    ack = _request("ACK", branch="z9hG4bKinv", to_tag=f";tag={tag}")
    server.receive(ack, PEER)
    assert acks == []
    assert server.counters.retransmissions_absorbed == 1
    server.receive(_request("ACK", branch="z9hG4bKx", to_tag=";tag=abc123"), PEER)
    assert len(acks) == 1  # an ACK in a dialog of ours still reaches its handler
