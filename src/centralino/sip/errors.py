"""The SIP layer's one error tree.

Two kinds of failure are kept apart (the h11 ``RemoteProtocolError`` /
``LocalProtocolError`` split):

* a **peer fault** (:class:`SipParseError`, and other :class:`PeerError`
  subclasses): the bytes or the behaviour of the other side were wrong. The
  error carries the status code a server answers with (RFC 3261 §8.2, §21.4)
  and, when parsing got far enough to build a response, the partly checked
  message itself;
* a **local misuse** (:class:`LocalProtocolError`): our own caller asked for
  something the protocol forbids (answering a finished transaction, a
  request without a Call-ID...). It is a bug, never answered on the wire.

Parsing untrusted bytes raises only :class:`SipParseError`, whatever the
input: every lower-level exception is translated at the parser boundary.
"""

from __future__ import annotations

from .codes import StatusCode, reason_phrase

__all__ = ["LocalProtocolError", "PeerError", "SipError", "SipParseError"]


class SipError(Exception):
    """Base of every error raised by :mod:`centralino.sip`."""


class PeerError(SipError):
    """The remote side sent something wrong; answer with :attr:`status`."""

    def __init__(
        self,
        reason: str,
        *,
        status: int = StatusCode.BAD_REQUEST,
        message: object | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        # The partly validated Request/Response, when one was built: a server
        # needs its Via, From, To, Call-ID and CSeq to answer (RFC 3261 §8.2.6).
        self.message = message

    @property
    def response_reason(self) -> str:
        """The reason phrase to put on the response line (the cause, if short)."""
        if self.reason and len(self.reason) <= 80 and self.reason.isprintable():
            return self.reason
        return reason_phrase(self.status)


class SipParseError(PeerError):
    """Bytes from the peer are not a well-formed SIP message or part of one.

    The default status is 400 Bad Request; a bad SIP version gives 505, an
    unknown Request-URI scheme 416, an oversized message 413 or 513.
    """


class LocalProtocolError(SipError):
    """Our own caller misused the API (a bug on this side, never sent)."""
