"""SIP requests and responses: parsing from bytes and formatting back.

A message is a start line, header fields, an empty line and a body
(RFC 3261 §7). :func:`parse_message` turns one complete message (a UDP
datagram, or what :mod:`centralino.sip.framing` cut out of a stream) into a
:class:`Request` or :class:`Response`; ``bytes(message)`` gives the wire
form back. The order of work is:

1. split head from body at the first empty line; CRLFs before the start
   line are skipped (§7.5);
2. unfold continuation lines: CRLF followed by white space is one SP
   (§7.3.1), so values are stored unfolded and trimmed;
3. check Content-Length against the body: a datagram shorter than it
   announces is invalid, bytes beyond it are dropped (§18.3);
4. validate the fields every element depends on (§8.1.1 for requests,
   §8.1.3.3 for responses). A failure raises
   :class:`~centralino.sip.errors.SipParseError` whose ``message`` is the
   partly checked message, so a server can still answer 400 (or 505).

Values are decoded as UTF-8 with surrogate escapes, so any byte sequence
survives a round trip. Messages are immutable; build changed copies with
``dataclasses.replace`` and the ``Headers.with_*`` methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .address import NameAddress
from .codes import StatusCode, reason_phrase
from .errors import SipError, SipParseError
from .grammar import TOKEN
from .headers import Headers, Via
from .uri import Uri
from .validation import validate_request, validate_response

__all__ = [
    "SIP_VERSION",
    "Message",
    "Request",
    "Response",
    "make_error_response",
    "make_request",
    "make_response",
    "parse_message",
]

SIP_VERSION = "SIP/2.0"
_CRLF = b"\r\n"
_OK = int(StatusCode.OK)  # plain ints: read on every response
_MULTIPLE_CHOICES = int(StatusCode.MULTIPLE_CHOICES)
_STATUS_LINE_RE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([1-6][0-9][0-9]) ([^\r\n]*)", re.IGNORECASE)
_REQUEST_LINE_RE = re.compile(rf"({TOKEN}) ([^ \t]+) (SIP/[0-9]+\.[0-9]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A SIP request (RFC 3261 §7.1). ``method`` is any token."""

    method: str
    uri: Uri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = SIP_VERSION

    @classmethod
    def parse(cls, data: bytes) -> Request:
        """Parse and validate one complete request.

        Args:
            data: the message bytes (extra bytes past Content-Length ignored).

        Returns:
            The request.

        Raises:
            SipParseError: malformed, or a response was given.
        """
        message = parse_message(data)
        if not isinstance(message, Request):
            raise SipParseError("expected a request, got a response")
        return message

    @property
    def start_line(self) -> str:
        """The Request-Line without its CRLF."""
        return f"{self.method} {self.uri} {self.version}"

    def __bytes__(self) -> bytes:
        return _format(self.start_line, self.headers, self.body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A SIP response (RFC 3261 §7.2)."""

    status: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = SIP_VERSION

    @classmethod
    def parse(cls, data: bytes) -> Response:
        """Parse and validate one complete response.

        Raises:
            SipParseError: malformed, or a request was given.
        """
        message = parse_message(data)
        if not isinstance(message, Response):
            raise SipParseError("expected a response, got a request")
        return message

    @property
    def start_line(self) -> str:
        """The Status-Line without its CRLF."""
        return f"{self.version} {self.status} {self.reason}"

    @property
    def is_provisional(self) -> bool:
        """True for 1xx responses."""
        return self.status < _OK

    @property
    def is_success(self) -> bool:
        """True for 2xx responses."""
        return _OK <= self.status < _MULTIPLE_CHOICES

    def __bytes__(self) -> bytes:
        return _format(self.start_line, self.headers, self.body)


Message = Request | Response


def _format(start_line: str, headers: Headers, body: bytes) -> bytes:
    lines = [start_line, *(f"{name}: {value}" for name, value in headers)]
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    return head + _CRLF + _CRLF + body


def parse_message(data: bytes) -> Request | Response:
    """Parse one complete SIP message (a datagram or a framed stream message).

    Args:
        data: the bytes of exactly one message, possibly with trailing bytes.

    Returns:
        A validated :class:`Request` or :class:`Response`.

    Raises:
        SipParseError: the bytes are not a valid message; ``status`` is the
            code to answer with and ``message`` the partial message, if any.
    """
    try:
        return _parse(data)
    except SipError:
        raise
    except (ValueError, IndexError, UnicodeError, OverflowError) as exc:
        raise SipParseError(f"malformed message: {exc}") from exc


def _parse(data: bytes) -> Request | Response:
    data = data.lstrip(b"\r\n")  # §7.5: ignore CRLFs before the start line
    head, body = _split_head(data)
    lines = _unfold(head.decode("utf-8", "surrogateescape"))
    headers = Headers.parse(lines[1:])
    try:
        cut = _cut_body(body, headers)
    except SipParseError as exc:
        # §18.3: a datagram shorter than its Content-Length is answered 400
        # when it can be: keep the message (as received) for the response.
        exc.message = _parse_start_line(lines[0], headers, body)
        raise
    message = _parse_start_line(lines[0], headers, cut)
    try:
        if isinstance(message, Request):
            uri_headers = bool(message.uri.headers)
            validate_request(message.method, message.version, headers, uri_headers=uri_headers)
        else:
            validate_response(message.version, headers)
    except SipParseError as exc:
        exc.message = message  # what a server needs to answer 400 (or 505)
        raise
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[:end], data[end + 4 :]
    end = data.find(b"\n\n")  # tolerate bare-LF senders
    if end >= 0:
        return data[:end], data[end + 2 :]
    if data.endswith(b"\r\n"):
        return data[:-2], b""  # §7.5 wants the empty line; accept headers-only ends
    raise SipParseError("no empty line after the header fields")


def _unfold(head: str) -> list[str]:
    if "\n " not in head and "\n\t" not in head and head.count("\n") == head.count("\r\n"):
        # The usual message: CRLF line ends and no folded lines, so a plain
        # split gives the lines (an empty one cannot occur: the head ends at
        # the first empty line).
        lines = head.split("\r\n")
        if lines[0]:
            return lines
    lines = []
    for line in re.split(r"\r?\n", head):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip(" \t") + " " + line.lstrip(" \t")
        elif not line:
            raise SipParseError("empty line inside the header section")
        else:
            lines.append(line)
    if not lines:
        raise SipParseError("empty message")
    return lines


def _cut_body(body: bytes, headers: Headers) -> bytes:
    lengths = headers.get_all("content-length")
    if len(lengths) != 1:
        return body  # absent (UDP: body runs to the end) or repeated (rejected later)
    length = headers.content_length()
    assert length is not None
    if length > len(body):
        raise SipParseError(f"Content-Length {length} exceeds the {len(body)} body bytes")
    return body[:length]  # §18.3: bytes past Content-Length are discarded


def _parse_start_line(line: str, headers: Headers, body: bytes) -> Request | Response:
    if line[:4].upper() == "SIP/":
        match = _STATUS_LINE_RE.fullmatch(line)
        if match is None:
            raise SipParseError(f"malformed Status-Line {line[:60]!r}")
        version, code, reason = match.groups()
        return Response(
            status=int(code), reason=reason, headers=headers, body=body, version=version.upper()
        )
    match = _REQUEST_LINE_RE.fullmatch(line)
    if match is None:
        raise SipParseError(f"malformed Request-Line {line[:60]!r}")
    method, uri_text, version = match.groups()
    uri = Uri.parse(uri_text)
    return Request(method=method, uri=uri, headers=headers, body=body, version=version.upper())


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to ``request`` as a UAS or stateful proxy must (§8.2.6).

    Via lines (all, in order), From, Call-ID and CSeq are copied verbatim; To
    is copied and gets ``to_tag`` unless it already has a tag (§8.2.6.2).
    A 100 Trying echoes Timestamp (§8.2.6.1). Content-Length is set.

    Args:
        request: the request being answered.
        status: the status code.
        reason: the reason phrase; the default phrase when None.
        to_tag: the local tag to add to To (not for 100 Trying).
        extra_headers: more fields, appended after the copied ones.
        body: the body (Content-Type goes in ``extra_headers``).

    Returns:
        The response.
    """
    source = request.headers
    fields = [("Via", value) for value in source.get_all("via")]
    fields.append(("From", source.single("from")))
    to_value = source.single("to")
    if to_tag is not None and status != StatusCode.TRYING:
        to_address = source.to_address()
        if "tag" not in to_address.parameters:
            # The tag is a header parameter, last in the value whether To is
            # a name-addr or an addr-spec (§20.39): append it to the text
            # received instead of formatting the parsed address again.
            to_value = f"{to_value};tag={to_tag}"
        elif to_address.tag is None:
            to_value = str(to_address.with_tag(to_tag))  # a valueless ";tag"
    fields.append(("To", to_value))
    fields += [("Call-ID", source.single("call-id")), ("CSeq", source.single("cseq"))]
    if status == StatusCode.TRYING:
        fields += [("Timestamp", value) for value in source.get_all("timestamp")]
    fields += [*extra_headers, ("Content-Length", str(len(body)))]
    phrase = reason_phrase(status) if reason is None else reason
    return Response(status=status, reason=phrase, headers=Headers(fields), body=body)


def make_error_response(
    request: Request, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> Response | None:
    """Answer a request that failed validation (400, 505...), as far as it can be.

    Like :func:`make_response`, but every field is copied only when present
    and parsed only when it must be (To, to add ``to_tag``): a request
    missing Call-ID or CSeq is still answered (RFC 3261 §8.1.1 makes them
    mandatory, §8.2 wants the error reported), with what it has.

    Returns:
        The response, or None without a Via to route it back (§18.2.2).
    """
    source = request.headers
    fields = [("Via", value) for value in source.get_all("via")]
    if not fields:
        return None
    fields += [("From", value) for value in source.get_all("from")]
    for value in source.get_all("to"):
        if to_tag is not None and len(source.get_all("to")) == 1:
            try:
                address = source.to_address()
                value = value if address.tag is not None else str(address.with_tag(to_tag))
            except SipError:
                pass  # a malformed To is echoed as it came
        fields.append(("To", value))
    fields += [("Call-ID", value) for value in source.get_all("call-id")]
    fields += [("CSeq", value) for value in source.get_all("cseq")]
    fields.append(("Content-Length", "0"))
    phrase = reason_phrase(status) if reason is None else reason
    return Response(status=status, reason=phrase, headers=Headers(fields))


def make_request(
    method: str,
    uri: Uri,
    *,
    via: Via,
    from_address: NameAddress,
    to_address: NameAddress,
    call_id: str,
    cseq: int,
    max_forwards: int = 70,
    extra_headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Request:
    """Build a request with the mandatory fields of RFC 3261 §8.1.1.

    Args:
        method: the method (also used in CSeq).
        uri: the Request-URI.
        via: the top (and only) Via, with a fresh branch.
        from_address: From, with the local tag.
        to_address: To (a tag only inside a dialog).
        call_id: the Call-ID.
        cseq: the CSeq number.
        max_forwards: the Max-Forwards value (70 per §8.1.1.6).
        extra_headers: more fields (Contact, Route, Content-Type...).
        body: the body.

    Returns:
        The request, with Content-Length set.
    """
    fields = [
        ("Via", str(via)),
        ("Max-Forwards", str(max_forwards)),
        ("From", str(from_address)),
        ("To", str(to_address)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        *extra_headers,
        ("Content-Length", str(len(body))),
    ]
    return Request(method=method, uri=uri, headers=Headers(fields), body=body)
