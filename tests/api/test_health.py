"""GET /api/v1/health shows the SIP server's counters when an engine runs."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from centralino.net.transport import Peer, SendFailure, TransportKind
from centralino.telephony.sip_server import IncomingRequest, SipServer

_OPTIONS = (
    b"OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKhealth\r\n"
    b"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:pbx@127.0.0.1>\r\n"
    b"Call-ID: health@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


class _Sink:
    kind = TransportKind.UDP
    local_address = ("127.0.0.1", 5060)

    def send(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        return True

    def close(self) -> None:
        return None


def _answer(incoming: IncomingRequest) -> None:
    incoming.respond(200)


async def test_health_shows_the_sip_counters(app: FastAPI, client: httpx.AsyncClient) -> None:
    sip = SipServer()
    sip.add_transport(_Sink())
    sip.route("OPTIONS", _answer)
    peer = Peer(TransportKind.UDP, "127.0.0.1", 5070)
    sip.receive(_OPTIONS, peer, queued=0.05)
    sip.receive(_OPTIONS, peer, queued=0.5)  # a retransmission, absorbed
    sip.receive(_OPTIONS.replace(b"health\r", b"late\r"), peer, queued=0.5)  # refused: 503
    app.state.sip_counters = sip.stats
    try:
        body = (await client.get("/api/v1/health")).json()
    finally:
        del app.state.sip_counters
        sip.close()
    assert body["status"] == "ok"
    assert body["sip"] == {
        "received": 3,
        "retransmissions_absorbed": 1,
        "rejected_overload": 1,
        "bad_requests": 0,
        "dropped": 0,
        "transactions": 1,
        "queue_delay": 0.5,
        "queue_delay_max": 0.5,
    }
