"""Cutting SIP messages out of a byte stream (TCP, TLS; RFC 3261 §18.3).

On a stream there are no datagram boundaries: a message ends where its
header section ends (the first empty line) plus Content-Length body bytes.
:class:`StreamFramer` follows the h11 shape: the glue feeds whatever the
socket returned to :meth:`~StreamFramer.receive_data` (``b""`` at end of
stream) and drains :meth:`~StreamFramer.next_event` until it returns None.

Between messages, RFC 5626 §4.4.1 keep-alives may arrive: a double CRLF is
a *ping*, to be answered with a single CRLF, the *pong*. A lone CRLF is
therefore only known to be a pong once the next byte is seen.

Two kinds of failure are distinguished. A message whose framing is intact
but whose content is invalid yields :class:`MessageRejected` (answer it
with its status and carry on). A stream whose framing is lost (a header
section or body over the limit, an unreadable Content-Length) raises
:class:`~centralino.sip.errors.SipParseError`; the connection must then be
closed, and every later call raises the same error. When the start line and
the fields a response needs were read before the limit, the error carries
that request (``error.message``, without its body) so the glue can answer it
(413, 513) before closing. :attr:`StreamFramer.message_pending` tells the
glue a message is under way (a slow sender's timeout starts then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codes import StatusCode
from .errors import SipParseError
from .message import Request, Response, parse_message

__all__ = [
    "KEEPALIVE_PONG",
    "FramingEvent",
    "KeepAlivePing",
    "KeepAlivePong",
    "MessageReceived",
    "MessageRejected",
    "StreamClosed",
    "StreamFramer",
]

KEEPALIVE_PONG = b"\r\n"  # RFC 5626 §4.4.1: the answer to a ping
_PING = b"\r\n\r\n"
_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH_RE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.I | re.M)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A complete, valid message arrived."""

    message: Request | Response


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRejected:
    """A complete message arrived but is invalid; the stream is still usable.

    ``error.status`` is the code to answer a request with and
    ``error.message`` the partial message, when one could be built.
    """

    error: SipParseError
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepAlivePing:
    """A double-CRLF ping arrived; send :data:`KEEPALIVE_PONG` back."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepAlivePong:
    """A single-CRLF pong arrived (the answer to our ping)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamClosed:
    """The peer closed the stream cleanly, between messages."""


FramingEvent = MessageReceived | MessageRejected | KeepAlivePing | KeepAlivePong | StreamClosed


class StreamFramer:
    """Splits a SIP byte stream into messages and keep-alives."""

    def __init__(self, *, max_head_size: int = 16384, max_body_size: int = 65536) -> None:
        """Create a framer.

        Args:
            max_head_size: the largest start line plus header section accepted.
            max_body_size: the largest Content-Length accepted.
        """
        self._buffer = bytearray()
        self._scanned = 0  # bytes already searched for the end of the head
        self._closed = False
        self._finished = False
        self._error: SipParseError | None = None
        self._max_head = max_head_size
        self._max_body = max_body_size

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the stream; ``b""`` means end of stream.

        Raises:
            SipParseError: the stream already failed.
        """
        self._raise_if_failed()
        if not data:
            self._closed = True
        self._buffer += data

    @property
    def message_pending(self) -> bool:
        """Part of a message is buffered (part of a keep-alive is not)."""
        return bool(self._buffer) and not _PING.startswith(self._buffer)

    def next_event(self) -> FramingEvent | None:
        """Return the next complete event, or None when more bytes are needed.

        Raises:
            SipParseError: the framing is lost; close the connection.
        """
        self._raise_if_failed()
        try:
            return self._next()
        except SipParseError as exc:
            self._error = exc
            raise

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _next(self) -> FramingEvent | None:
        keepalive = self._keepalive()
        if keepalive is not None or self._buffer.startswith(b"\r"):
            return keepalive if keepalive is not None else self._at_end(partial=True)
        end = self._buffer.find(_HEAD_END, max(0, self._scanned - 3))
        if end < 0:
            self._scanned = len(self._buffer)
            if len(self._buffer) > self._max_head:
                raise self._too_large(bytes(self._buffer[: self._max_head]))
            return self._at_end(partial=bool(self._buffer))
        if end > self._max_head:
            raise self._too_large(bytes(self._buffer[: self._max_head]))
        head = bytes(self._buffer[:end])
        try:
            length = self._content_length(head)
        except SipParseError as exc:
            raise SipParseError(
                exc.reason, status=exc.status, message=_head_message(head)
            ) from None
        total = end + len(_HEAD_END) + length
        if len(self._buffer) < total:
            return self._at_end(partial=True)
        return self._emit(total)

    def _keepalive(self) -> FramingEvent | None:
        if self._buffer.startswith(_PING):
            del self._buffer[: len(_PING)]
            return KeepAlivePing()
        if (
            self._buffer.startswith(b"\r\n")
            and len(self._buffer) > 2
            and self._buffer[2:3] != b"\r"
        ):
            del self._buffer[:2]
            return KeepAlivePong()
        if self._closed and self._buffer == b"\r\n":
            del self._buffer[:2]
            return KeepAlivePong()
        return None

    def _too_large(self, start: bytes) -> SipParseError:
        # Only whole lines of the cut head are kept: a field cut in the
        # middle would be read as a shorter, different value.
        head = start[: start.rfind(b"\r\n")] if b"\r\n" in start else b""
        return SipParseError(
            "header section too large",
            status=StatusCode.MESSAGE_TOO_LARGE,
            message=_head_message(head),
        )

    def _content_length(self, head: bytes) -> int:
        # RFC 3261 §18.3: on a stream Content-Length delimits the body; we read
        # a missing one as 0 (§20.14 makes it mandatory, but phones forget it).
        values = _CONTENT_LENGTH_RE.findall(head)
        if not values:
            return 0
        text = values[0].strip()
        if len(values) > 1 or not text.isdigit() or not text.isascii():
            raise SipParseError("unusable Content-Length on a stream")
        length = int(text)
        if length > self._max_body:
            raise SipParseError("body too large", status=StatusCode.REQUEST_ENTITY_TOO_LARGE)
        return length

    def _emit(self, total: int) -> FramingEvent:
        data = bytes(self._buffer[:total])
        del self._buffer[:total]
        self._scanned = 0
        try:
            return MessageReceived(message=parse_message(data))
        except SipParseError as exc:
            return MessageRejected(error=exc, data=data)

    def _at_end(self, *, partial: bool) -> FramingEvent | None:
        if not self._closed:
            return None
        if partial:
            raise SipParseError("stream closed in the middle of a message")
        if self._finished:
            return None
        self._finished = True
        return StreamClosed()


def _head_message(head: bytes) -> Request | Response | None:
    """The message a header section describes, body left out, when it parses.

    Content-Length is dropped: its body is the part that was refused.
    """
    if not head:
        return None
    try:
        lines = [line for line in head.split(b"\r\n") if not _CONTENT_LENGTH_RE.match(line)]
        return parse_message(b"\r\n".join(lines) + _HEAD_END)
    except SipParseError as exc:
        partial = exc.message
        return partial if isinstance(partial, Request | Response) else None
