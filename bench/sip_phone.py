"""A minimal SIP user agent over UDP for the benches: REGISTER with digest, OPTIONS, one call.

Not a SIP stack: requests are written as text, responses are matched to their
request by Call-ID, nothing is retransmitted (loopback does not lose
datagrams) except a callee's 200 until its ACK. Enough to drive a running
``centralino serve`` from outside, as phones would:

- :class:`Endpoint`: one UDP socket; responses go to the queue of their
  Call-ID (or to ``on_response``), requests to ``on_request``;
- :func:`register`: REGISTER, answer the 401 challenge (MD5 digest), return
  the final status;
- :class:`OptionsProber`: an OPTIONS every ``interval`` on a fixed schedule,
  each response's latency recorded;
- :func:`call`: phone A calls phone B through the PBX (407 challenge, B
  answers at once), then both send G.711 RTP every 20 ms to the PBX's media
  ports (:class:`RtpStream`) and record when each packet arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import re
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "Endpoint",
    "Message",
    "OptionsProber",
    "RtpStream",
    "call",
    "open_endpoint",
    "register",
]

_COMPACT = {
    "i": "call-id",
    "v": "via",
    "f": "from",
    "t": "to",
    "m": "contact",
    "l": "content-length",
}
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')
_counter = itertools.count(1)
RTP_HEADER = struct.Struct("!BBHII")


@dataclass
class Message:
    """A received SIP message, parsed just enough."""

    first: str
    headers: list[tuple[str, str]]
    body: bytes
    received: float

    @classmethod
    def parse(cls, data: bytes, received: float) -> Message:
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers.append((_COMPACT.get(name, name), value.strip()))
        return cls(lines[0], headers, body, received)

    @property
    def is_response(self) -> bool:
        return self.first.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.first.split()[1])

    @property
    def method(self) -> str:
        return self.first.split()[0]

    def get(self, name: str) -> str:
        return next((value for key, value in self.headers if key == name), "")

    def every(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


def new_id(prefix: str) -> str:
    """A unique token (Call-ID, tag, branch)."""
    return f"{prefix}{next(_counter)}x{secrets.token_hex(4)}"


class Endpoint(asyncio.DatagramProtocol):
    """One UDP socket: requests out, responses queued by Call-ID."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.queues: dict[str, asyncio.Queue[Message]] = {}
        self.on_request: Callable[[Message, tuple[str, int]], None] | None = None
        self.on_response: Callable[[Message], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def send(self, text: str, body: bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode() + body, to)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not data.strip():
            return  # keep-alive
        message = Message.parse(data, time.monotonic())
        if not message.is_response:
            if self.on_request is not None:
                self.on_request(message, (str(addr[0]), int(addr[1])))
            return
        queue = self.queues.get(message.get("call-id"))
        if queue is not None:
            queue.put_nowait(message)
        elif self.on_response is not None:
            self.on_response(message)

    async def final(self, call_id: str, within: float = 5.0) -> Message:
        """The next final (>= 200) response of ``call_id``."""
        queue = self.queues.setdefault(call_id, asyncio.Queue())
        async with asyncio.timeout(within):
            while True:
                message = await queue.get()
                if message.status >= 200:
                    return message

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_endpoint(host: str = "127.0.0.1", buffer: int = 1 << 20) -> Endpoint:
    """An endpoint on a free port of ``host`` (any 127.x.y.z works on Linux)."""
    loop = asyncio.get_running_loop()
    _, endpoint = await loop.create_datagram_endpoint(Endpoint, local_addr=(host, 0))
    assert endpoint.transport is not None
    sock = endpoint.transport.get_extra_info("socket")
    with contextlib.suppress(OSError):
        import socket

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    return endpoint


def _digest(challenge: str, *, method: str, uri: str, user: str, password: str) -> str:
    params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(challenge)}
    algorithm = params.get("algorithm", "MD5")
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"

    def h(text: str) -> str:
        return hashlib.new(name, text.encode()).hexdigest()

    realm, nonce = params["realm"], params["nonce"]
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
    ]
    if "auth" in params.get("qop", "").split(","):
        cnonce = secrets.token_hex(8)
        response = h(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def _challenge(response: Message, header: str) -> str:
    offered = response.every(header)
    md5 = [c for c in offered if "algorithm=md5" in c.lower().replace('"', "")]
    return (md5 or offered)[0]


@dataclass
class Dialog:
    """What a request needs to name its dialog."""

    call_id: str
    local_uri: str
    remote_uri: str
    local_tag: str
    remote_tag: str = ""
    cseq: int = 0


def _request(
    endpoint: Endpoint,
    method: str,
    uri: str,
    dialog: Dialog,
    *,
    cseq: int | None = None,
    branch: str | None = None,
    extra: list[str] | None = None,
    body: bytes = b"",
) -> str:
    host, port = endpoint.address
    if cseq is None:
        dialog.cseq += 1
        cseq = dialog.cseq
    to_tag = f";tag={dialog.remote_tag}" if dialog.remote_tag else ""
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:{port};branch={branch or new_id('z9hG4bK')};rport",
        "Max-Forwards: 70",
        f"From: <{dialog.local_uri}>;tag={dialog.local_tag}",
        f"To: <{dialog.remote_uri}>{to_tag}",
        f"Call-ID: {dialog.call_id}",
        f"CSeq: {cseq} {method}",
        *(extra or []),
        f"Content-Length: {len(body)}",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


async def register(
    endpoint: Endpoint,
    server: tuple[str, int],
    number: str,
    auth_id: str,
    password: str,
    *,
    expires: int = 300,
    within: float = 5.0,
) -> Message:
    """REGISTER ``number`` from ``endpoint``, answering a digest challenge; the final response."""
    host, port = endpoint.address
    domain = server[0]
    uri = f"sip:{domain}:{server[1]}"
    aor = f"sip:{number}@{domain}"
    dialog = Dialog(call_id=new_id("reg"), local_uri=aor, remote_uri=aor, local_tag=new_id("t"))
    contact = [f"Contact: <sip:{number}@{host}:{port}>", f"Expires: {expires}"]
    try:
        endpoint.send(_request(endpoint, "REGISTER", uri, dialog, extra=contact), b"", server)
        answer = await endpoint.final(dialog.call_id, within)
        if answer.status == 401:
            authorization = _digest(
                _challenge(answer, "www-authenticate"),
                method="REGISTER",
                uri=uri,
                user=auth_id,
                password=password,
            )
            extra = [*contact, f"Authorization: {authorization}"]
            endpoint.send(_request(endpoint, "REGISTER", uri, dialog, extra=extra), b"", server)
            answer = await endpoint.final(dialog.call_id, within)
        return answer
    finally:
        endpoint.queues.pop(dialog.call_id, None)


class OptionsProber:
    """An OPTIONS every ``interval`` seconds; the latency of each answer.

    ``samples`` holds ``(sent, latency)`` pairs, latency None while (or if)
    unanswered. Sends follow a fixed schedule (``loop.call_at``), so a late
    tick of this process shows as a late send, not as server latency.
    """

    def __init__(self, endpoint: Endpoint, server: tuple[str, int], interval: float = 0.02):
        self._endpoint = endpoint
        self._server = server
        self._interval = interval
        self._sent: dict[str, int] = {}
        self.samples: list[tuple[float, float | None]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0
        endpoint.on_response = self._answered

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._next = loop.time()
        self._tick()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        uri = f"sip:{self._server[0]}:{self._server[1]}"
        dialog = Dialog(
            call_id=new_id("probe"), local_uri="sip:probe@bench", remote_uri=uri, local_tag="p"
        )
        self._sent[dialog.call_id] = len(self.samples)
        self.samples.append((time.monotonic(), None))
        self._endpoint.send(_request(self._endpoint, "OPTIONS", uri, dialog), b"", self._server)
        self._next += self._interval
        self._handle = loop.call_at(self._next, self._tick)

    def _answered(self, message: Message) -> None:
        index = self._sent.pop(message.get("call-id"), None)
        if index is not None:
            sent, _ = self.samples[index]
            self.samples[index] = (sent, message.received - sent)


class RtpStream(asyncio.DatagramProtocol):
    """G.711 RTP every 20 ms to ``target``; the arrival time of every packet received."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.target: tuple[str, int] | None = None
        self.arrivals: list[float] = []
        self.sequences: list[int] = []
        self.sent = 0
        self._ssrc = secrets.randbits(32)
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) >= RTP_HEADER.size:
            self.arrivals.append(time.monotonic())
            self.sequences.append(RTP_HEADER.unpack_from(data)[2])

    def start(self, target: tuple[str, int]) -> None:
        self.target = target
        self._next = asyncio.get_running_loop().time()
        self._tick()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _tick(self) -> None:
        assert self.transport is not None
        assert self.target is not None
        header = RTP_HEADER.pack(0x80, 0, self.sent & 0xFFFF, self.sent * 160, self._ssrc)
        self.transport.sendto(header + b"\xff" * 160, self.target)
        self.sent += 1
        self._next += 0.02
        self._handle = asyncio.get_running_loop().call_at(self._next, self._tick)

    def largest_gap(self, start: float, end: float) -> float:
        """The longest time without a packet between ``start`` and ``end`` (seconds)."""
        inside = [t for t in self.arrivals if start <= t <= end]
        edges = [start, *inside, end]
        return max(b - a for a, b in itertools.pairwise(edges))


def _sdp(port: int) -> bytes:
    return (
        "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    ).encode()


def _media_address(body: bytes) -> tuple[str, int]:
    text = body.decode()
    host = re.search(r"c=IN IP4 (\S+)", text)
    port = re.search(r"m=audio (\d+)", text)
    assert host is not None, repr(body)
    assert port is not None, repr(body)
    return host.group(1), int(port.group(1))


@dataclass
class Call:
    """An established call: A's and B's RTP streams and how to hang up."""

    a: RtpStream
    b: RtpStream
    hang_up: Callable[[], None]
    acked: asyncio.Event = field(default_factory=asyncio.Event)


def _answer_invites(endpoint: Endpoint, rtp: RtpStream, number: str) -> asyncio.Event:
    """B's side: answer an INVITE with 200 at once, 200 to BYE and anything else."""
    acked = asyncio.Event()
    host, port = endpoint.address

    def on_request(request: Message, source: tuple[str, int]) -> None:
        vias = [f"Via: {v}" for v in request.every("via")]
        to = request.get("to")
        if "tag=" not in to:
            to += ";tag=callee"
        body = b""
        extra = [f"Contact: <sip:{number}@{host}:{port}>"]
        if request.method == "INVITE":
            body = _sdp(rtp.port)
            extra.append("Content-Type: application/sdp")
            rtp.start(_media_address(request.body))
        elif request.method == "ACK":
            acked.set()
            return
        lines = [
            "SIP/2.0 200 OK",
            *vias,
            f"From: {request.get('from')}",
            f"To: {to}",
            f"Call-ID: {request.get('call-id')}",
            f"CSeq: {request.get('cseq')}",
            *extra,
            f"Content-Length: {len(body)}",
        ]
        endpoint.send("\r\n".join(lines) + "\r\n\r\n", body, source)

    endpoint.on_request = on_request
    return acked


async def call(
    server: tuple[str, int],
    caller: tuple[Endpoint, str, str, str],
    callee: tuple[Endpoint, str],
) -> Call:
    """A calls B through the PBX; both then stream RTP. ``caller`` = (endpoint, number,
    auth ID, password); ``callee`` = (endpoint, number), B registered already."""
    loop = asyncio.get_running_loop()
    a_endpoint, a_number, auth_id, password = caller
    b_endpoint, b_number = callee
    _, a_rtp = await loop.create_datagram_endpoint(RtpStream, local_addr=("127.0.0.1", 0))
    _, b_rtp = await loop.create_datagram_endpoint(RtpStream, local_addr=("127.0.0.1", 0))
    acked = _answer_invites(b_endpoint, b_rtp, b_number)
    host, port = a_endpoint.address
    uri = f"sip:{b_number}@{server[0]}:{server[1]}"
    dialog = Dialog(
        call_id=new_id("call"),
        local_uri=f"sip:{a_number}@{server[0]}",
        remote_uri=f"sip:{b_number}@{server[0]}",
        local_tag=new_id("a"),
    )
    offer = _sdp(a_rtp.port)
    extra = [f"Contact: <sip:{a_number}@{host}:{port}>", "Content-Type: application/sdp"]
    branch = new_id("z9hG4bK")
    invite = _request(a_endpoint, "INVITE", uri, dialog, branch=branch, extra=extra, body=offer)
    a_endpoint.send(invite, offer, server)
    answer = await a_endpoint.final(dialog.call_id)
    if answer.status == 407:
        dialog.remote_tag = _tag(answer.get("to"))
        ack = _request(a_endpoint, "ACK", uri, dialog, cseq=dialog.cseq, branch=branch)
        a_endpoint.send(ack, b"", server)
        dialog.remote_tag = ""
        challenge = _challenge(answer, "proxy-authenticate")
        credentials = _digest(challenge, method="INVITE", uri=uri, user=auth_id, password=password)
        extra.append(f"Proxy-Authorization: {credentials}")
        invite = _request(a_endpoint, "INVITE", uri, dialog, extra=extra, body=offer)
        a_endpoint.send(invite, offer, server)
        answer = await a_endpoint.final(dialog.call_id)
    if answer.status != 200:
        raise RuntimeError(f"the call was refused: {answer.first}")
    dialog.remote_tag = _tag(answer.get("to"))
    target = re.search(r"<([^>]+)>", answer.get("contact"))
    remote = target.group(1) if target else uri
    a_endpoint.send(_request(a_endpoint, "ACK", remote, dialog, cseq=dialog.cseq), b"", server)
    a_rtp.start(_media_address(answer.body))
    async with asyncio.timeout(5):
        await acked.wait()

    def hang_up() -> None:
        a_rtp.stop()
        b_rtp.stop()
        a_endpoint.send(_request(a_endpoint, "BYE", remote, dialog), b"", server)

    return Call(a=a_rtp, b=b_rtp, hang_up=hang_up, acked=acked)


def _tag(header: str) -> str:
    match = re.search(r";tag=([^;>\s]+)", header)
    return match.group(1) if match else ""
