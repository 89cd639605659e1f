"""A cheap look at a raw message before the full parse: its transaction key.

Theory of operation. Under load most of what arrives twice is a
retransmission (RFC 3261 §17: the client resends until it hears back), and
a late answer makes clients resend more. Parsing and validating every copy
costs as much as the original; the transaction layer then throws it away
after resending its last response. :func:`prescan` finds, with a handful of
byte searches and no objects but its result, what the transaction layer
matches requests on (§17.2.3): the top Via's branch and sent-by and the
CSeq method (ACK folded into INVITE), plus what overload control needs to
judge a request (its method, whether its To has a tag, whether it carries
credentials).

It is deliberately timid: anything unusual (folded lines, bare LF line
ends, quoted Via parameters, an RFC 2543 branch, CSeq disagreeing with the
Request-Line) gives None, and the caller parses in full. When it does give
a key, that key equals :func:`~centralino.sip.transaction_layer.server_key`
of the parsed request (tested on the RFC 4475 vectors and on generated
messages). It never validates: a malformed message the scan accepts is
still judged by the full parse unless a live transaction already answered
its exact key.

:func:`stateless_response` builds a response (the 503 of overload control)
by copying the raw Via, From, To, Call-ID and CSeq lines (RFC 3261 §8.2.6.2)
without parsing them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .events import TransactionKey
from .headers import MAGIC_COOKIE

__all__ = ["Scan", "prescan", "stateless_response"]

_TOKEN_CHARS = rb"A-Za-z0-9.!%*_+`'~\-"
_REQUEST_LINE_RE = re.compile(rb"([" + _TOKEN_CHARS + rb"]+) [^ \t]+ SIP/2\.0")
# Header names are matched on the lower-cased head; values are read from the
# original at the same offsets (bytes.lower keeps lengths).
_VIA_LINE_RE = re.compile(rb"\r\n(?:via|v)[ \t]*:[ \t]*([^\r\n]*)")
_CSEQ_LINE_RE = re.compile(
    rb"\r\ncseq[ \t]*:[ \t]*([0-9]{1,10})[ \t]+([" + _TOKEN_CHARS + rb"]+)[ \t]*\r\n"
)
_TO_LINE_RE = re.compile(rb"\r\n(?:to|t)[ \t]*:([^\r\n]*)")
_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=")
_CREDENTIALS_RE = re.compile(rb"\r\n(?:proxy-)?authorization[ \t]*:")
_FROM_LINE_RE = re.compile(rb"\r\n(?:from|f)[ \t]*:")
_CALL_ID_LINE_RE = re.compile(rb"\r\n(?:call-id|i)[ \t]*:")
# via-parm (RFC 3261 §20.42) restricted to plain parameters: a quoted or
# otherwise unusual value sends the message to the full parser.
_VIA_RE = re.compile(
    rb"[" + _TOKEN_CHARS + rb"]+[ \t]*/[ \t]*[" + _TOKEN_CHARS + rb"]+[ \t]*/[ \t]*"
    rb"([" + _TOKEN_CHARS + rb"]+)[ \t]+"
    rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?"
    rb"((?:[ \t]*;[ \t]*[" + _TOKEN_CHARS + rb"]+"
    rb"(?:[ \t]*=[ \t]*[" + _TOKEN_CHARS + rb":\[\]]+)?)*)"
    rb"[ \t]*"
)
_BRANCH_RE = re.compile(rb";[ \t]*branch[ \t]*=[ \t]*([^; \t]+)", re.IGNORECASE)
_COPIED_RE = re.compile(rb"(?:via|v|from|f|to|t|call-id|i|cseq)[ \t]*:")
_DEFAULT_PORTS = {b"TLS": 5061}


@dataclass(frozen=True, slots=True)
class Scan:
    """What :func:`prescan` found in a raw request."""

    method: str
    """The Request-Line's method."""
    key: TransactionKey
    """The server-transaction key, as :func:`server_key` gives it."""
    in_dialog: bool
    """True when To carries a tag (a request inside a dialog)."""
    credentials: bool
    """True when it carries Authorization or Proxy-Authorization."""
    complete: bool
    """True when To, From and Call-ID are there too (RFC 3261 §8.1.1; none parsed)."""


def prescan(data: bytes) -> Scan | None:
    """Find a request's transaction key without parsing it.

    Args:
        data: one datagram or framed message, as received.

    Returns:
        The scan; None for a response, or when anything is unusual (the
        caller then parses the message in full).
    """
    end = data.find(b"\r\n\r\n")
    if end <= 0:
        return None
    head = data[: end + 2]  # each line, the last too, ends with CRLF
    if b"\r\n " in head or b"\r\n\t" in head or head.count(b"\n") != head.count(b"\r\n"):
        return None  # folded lines or bare LFs: the full parser's job
    request_line = _REQUEST_LINE_RE.match(head)
    if request_line is None:
        return None
    lower = head.lower()
    via_line = _VIA_LINE_RE.search(lower)
    cseq = _CSEQ_LINE_RE.search(lower)
    if via_line is None or cseq is None:
        return None
    method = request_line[1]
    if head[cseq.start(2) : cseq.end(2)] != method:
        return None  # the full parse rejects it (400)
    key = _server_key(head[via_line.start(1) : via_line.end(1)], method)
    if key is None:
        return None
    to_line = _TO_LINE_RE.search(lower)
    in_dialog = to_line is not None and _TAG_RE.search(to_line[1]) is not None
    return Scan(
        method=method.decode("ascii"),
        key=key,
        in_dialog=in_dialog,
        credentials=_CREDENTIALS_RE.search(lower) is not None,
        complete=to_line is not None
        and _FROM_LINE_RE.search(lower) is not None
        and _CALL_ID_LINE_RE.search(lower) is not None,
    )


def _server_key(via_value: bytes, method: bytes) -> TransactionKey | None:
    if b'"' in via_value:
        return None
    top = via_value.split(b",", 1)[0].rstrip(b" \t")
    via = _VIA_RE.fullmatch(top)
    if via is None:
        return None
    branch_match = _BRANCH_RE.search(via[4])
    if branch_match is None:
        return None
    branch = branch_match[1].decode("ascii")
    if not branch.startswith(MAGIC_COOKIE) or branch == MAGIC_COOKIE:
        return None  # RFC 2543 peer: matched on dialog fields by the full path
    port = int(via[3]) if via[3] else _DEFAULT_PORTS.get(via[1].upper(), 5060)
    if port > 65535:
        return None
    host = via[2].decode("ascii").lower()
    name = "INVITE" if method == b"ACK" else method.decode("ascii")
    return TransactionKey(branch=branch, method=name, sent_by=f"{host}:{port}", server=True)


def stateless_response(
    data: bytes, status: int, reason: str, *, headers: tuple[tuple[str, str], ...] = ()
) -> bytes | None:
    """A response to the raw request ``data``, built by copying its lines.

    Via (every line, in order), From, To, Call-ID and CSeq are copied as
    received (RFC 3261 §8.2.6.2); To gets a tag derived from those lines
    when it has none, so a retransmission gets the same one (§8.2.7). No
    line is parsed.

    Args:
        data: the request, as received.
        status: the status code (not 100).
        reason: the reason phrase.
        headers: more fields, e.g. ``Retry-After``.

    Returns:
        The response bytes, or None when the request has no Via to route it.
    """
    end = data.find(b"\r\n\r\n")
    if end <= 0 or not _REQUEST_LINE_RE.match(data):
        return None
    copied = [line for line in data[:end].split(b"\r\n")[1:] if _COPIED_RE.match(line.lower())]
    if not any(line[:1] in (b"V", b"v") for line in copied):
        return None
    tag = hashlib.blake2s(b"\n".join(copied), digest_size=6).hexdigest().encode()
    lines = [f"SIP/2.0 {status} {reason}".encode()]
    for line in copied:
        lower = line.lower()
        if _TO_LINE_RE.match(b"\r\n" + lower) and _TAG_RE.search(lower) is None:
            line += b";tag=" + tag
        lines.append(line)
    lines += [f"{name}: {value}".encode() for name, value in headers]
    lines.append(b"Content-Length: 0")
    return b"\r\n".join(lines) + b"\r\n\r\n"
