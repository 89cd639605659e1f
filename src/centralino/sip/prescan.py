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

from .events import TransactionKey
from .headers import MAGIC_COOKIE

__all__ = ["STATELESS_TAG_PREFIX", "Scan", "prescan", "stateless_response"]

_TOKEN_CHARS = rb"A-Za-z0-9.!%*_+`'~\-"
_REQUEST_LINE_RE = re.compile(rb"([" + _TOKEN_CHARS + rb"]+) [^ \t]+ SIP/2\.0")
# Every field the scan looks at, found in one pass over the lower-cased head;
# values are read from the original at the same offsets (bytes.lower keeps
# lengths). Group 1 is the name, group 2 the value, the match the whole line.
_FIELD_RE = re.compile(
    rb"\r\n(via|v|cseq|to|t|from|f|call-id|i|authorization|proxy-authorization|max-forwards)"
    rb"[ \t]*:[ \t]*([^\r\n]*)"
)
_CSEQ_RE = re.compile(rb"([0-9]{1,10})[ \t]+([" + _TOKEN_CHARS + rb"]+)[ \t]*")
_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=")
STATELESS_TAG_PREFIX = "sl"
"""To-tags of stateless answers start so (never hex): their ACKs are recognised."""
_STATELESS_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=[ \t]*sl[0-9a-f]{12}(?![^; \t])")
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
_BRANCH_RE = re.compile(rb";[ \t]*branch[ \t]*=[ \t]*([^; \t]+)")  # on the lower-cased text
# What each field found is to the scan: the first five are copied to a
# stateless answer (and tested as ``kind <= _CSEQ``).
_VIA, _FROM, _TO, _CALL_ID, _CSEQ, _CREDENTIALS, _HOPS = range(7)
_KINDS = {
    b"via": _VIA, b"v": _VIA, b"from": _FROM, b"f": _FROM, b"to": _TO, b"t": _TO,
    b"call-id": _CALL_ID, b"i": _CALL_ID, b"cseq": _CSEQ, b"authorization": _CREDENTIALS,
    b"proxy-authorization": _CREDENTIALS, b"max-forwards": _HOPS,
}  # fmt: skip
_DEFAULT_PORTS = {b"TLS": 5061}


class Scan:
    """What :func:`prescan` found in a raw request (a plain class: one per message)."""

    __slots__ = (
        "complete",
        "copied",
        "credentials",
        "in_dialog",
        "key",
        "method",
        "stateless_dialog",
        "to_end",
    )

    def __init__(
        self,
        method: str,
        key: TransactionKey,
        *,
        in_dialog: bool,
        credentials: bool,
        complete: bool,
        copied: tuple[tuple[int, int], ...] = (),
        to_end: int = -1,
        stateless_dialog: bool = False,
    ) -> None:
        self.method = method
        """The Request-Line's method."""
        self.key = key
        """The server-transaction key, as :func:`server_key` gives it."""
        self.in_dialog = in_dialog
        """True when To carries a tag (a request inside a dialog)."""
        self.credentials = credentials
        """True when it carries Authorization or Proxy-Authorization."""
        self.complete = complete
        """True when To, From and Call-ID are there too (RFC 3261 §8.1.1; none
        parsed) and Max-Forwards, when present, is a number (else the full
        parse answers 400)."""
        self.copied = copied
        """Where the Via, From, To, Call-ID and CSeq lines are (start, end), in order."""
        self.to_end = to_end
        """Where the first To line ends (-1: no To)."""
        self.stateless_dialog = stateless_dialog
        """To carries the tag of a stateless answer of ours (an ACK to it needs nothing)."""


def prescan(data: bytes) -> Scan | None:
    """Find a request's transaction key without parsing it.

    Args:
        data: one datagram or framed message, as received.

    Returns:
        The scan; None for a response, or when anything is unusual (the
        caller then parses the message in full).
    """
    if data.startswith(b"SIP/"):
        return None  # a response: nothing to scan (the Request-Line test below says so too)
    end = data.find(b"\r\n\r\n")
    if end <= 0:
        return None
    head = data[: end + 2]  # each line, the last too, ends with CRLF
    if b"\r\n " in head or b"\r\n\t" in head or head.count(b"\n") != head.count(b"\r\n"):
        return None  # folded lines or bare LFs: the full parser's job
    request_line = _REQUEST_LINE_RE.match(head)
    if request_line is None:
        return None
    via = cseq = None
    to_end = -1
    in_dialog = credentials = has_from = has_call_id = stateless_dialog = False
    hops_readable = True
    copied = []
    for field in _FIELD_RE.finditer(head.lower()):
        kind = _KINDS[field[1]]
        if kind > _CSEQ:
            if kind == _CREDENTIALS:
                credentials = True
            else:
                hops_readable = hops_readable and field[2].strip().isdigit()
            continue
        start, end = field.span()
        copied.append((start + 2, end))
        if kind == _VIA:
            if via is None:
                via = head[field.start(2) : end]
        elif kind == _FROM:
            has_from = True
        elif kind == _TO:
            if to_end < 0:
                to_end = end
                in_dialog = _TAG_RE.search(field[2]) is not None
                stateless_dialog = in_dialog and _STATELESS_TAG_RE.search(field[2]) is not None
        elif kind == _CALL_ID:
            has_call_id = True
        else:
            cseq = head[field.start(2) : end] if cseq is None else b""
    if via is None or not cseq:
        return None  # no Via, no CSeq or two CSeq: the full parse answers
    method = request_line[1]
    numbered = _CSEQ_RE.fullmatch(cseq)
    if numbered is None or numbered[2] != method:
        return None  # the full parse rejects it (400)
    key = _server_key(via, method)
    if key is None:
        return None
    return Scan(
        method.decode("ascii"),
        key,
        in_dialog=in_dialog,
        credentials=credentials,
        complete=to_end >= 0 and has_from and has_call_id and hops_readable,
        copied=tuple(copied),
        to_end=to_end,
        stateless_dialog=stateless_dialog,
    )


def _server_key(via_value: bytes, method: bytes) -> TransactionKey | None:
    if b'"' in via_value:
        return None
    top = via_value.split(b",", 1)[0].rstrip(b" \t")
    via = _VIA_RE.fullmatch(top)
    if via is None:
        return None
    parameters = via[4]
    branch_match = _BRANCH_RE.search(parameters.lower())
    if branch_match is None:
        return None
    branch = parameters[branch_match.start(1) : branch_match.end(1)].decode("ascii")
    if not branch.startswith(MAGIC_COOKIE) or branch == MAGIC_COOKIE:
        return None  # RFC 2543 peer: matched on dialog fields by the full path
    port = int(via[3]) if via[3] else _DEFAULT_PORTS.get(via[1].upper(), 5060)
    if port > 65535:
        return None
    host = via[2].decode("ascii").lower()
    name = "INVITE" if method == b"ACK" else method.decode("ascii")
    return TransactionKey(branch=branch, method=name, sent_by=f"{host}:{port}", server=True)


def stateless_response(
    data: bytes,
    status: int,
    reason: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    scan: Scan | None = None,
) -> bytes | None:
    """A response to the raw request ``data``, built by copying its lines.

    Via (every line, in order), From, To, Call-ID and CSeq are copied as
    received (RFC 3261 §8.2.6.2); To gets a tag derived from those lines
    when it has none, so a retransmission gets the same one (§8.2.7), and
    marked (:data:`STATELESS_TAG_PREFIX`) so that the ACK of a stateless
    final answer to an INVITE is recognised and dropped unparsed (as
    Kamailio's ``sl`` does). No line is parsed.

    Args:
        data: the request, as received.
        status: the status code (not 100).
        reason: the reason phrase.
        headers: more fields, e.g. ``Retry-After``.
        scan: :func:`prescan` of ``data``, when the caller has it.

    Returns:
        The response bytes, or None when the request has no Via to route it
        (or is too unusual to copy from without parsing).
    """
    if scan is None:
        scan = prescan(data)
        if scan is None:
            return None
    lines = [data[start:end] for start, end in scan.copied]
    if scan.to_end >= 0 and not scan.in_dialog:
        digest = hashlib.blake2s(b"\n".join(lines), digest_size=6).hexdigest()
        tag = (STATELESS_TAG_PREFIX + digest).encode()
        lines = [
            line + b";tag=" + tag if start < scan.to_end <= end else line
            for line, (start, end) in zip(lines, scan.copied, strict=True)
        ]
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = f"SIP/2.0 {status} {reason}\r\n".encode()
    return head + b"\r\n".join(lines) + f"\r\n{extra}Content-Length: 0\r\n\r\n".encode()
