"""Checks every parsed message must pass before the transaction layer sees it.

RFC 3261 §8.1.1 lists the fields a request must carry (To, From, CSeq,
Call-ID, Max-Forwards, Via) and §8.2.2 / §16.3 the basic sanity a server
applies; a response needs Via, From, To, Call-ID and CSeq to be matched
to a transaction (§17.1.3). Fields every layer relies on are parsed here,
eagerly, so that a malformed one is answered with 400 at the edge (RFC 4475
§3.1.2) instead of failing deep inside a dialog. Of the Vias only the top
one is read: the others matter to nobody here and go back in a response
as the text received (§8.2.6.2). Fields only a later layer understands
(Require, Content-Type, Authorization) are left to that layer.

The checks take the parts of a message (method, version, header fields),
not the message classes: :mod:`.message` calls them while parsing and
attaches the partly checked message to the error (``error.message``) so the
caller can build the error response. (Taking the parts keeps this module
below :mod:`.message`: no import cycle, DESIGN.md §3.)
"""

from __future__ import annotations

import re

from .codes import StatusCode
from .errors import SipParseError
from .headers import Headers

__all__ = ["REQUIRED_REQUEST_HEADERS", "validate_request", "validate_response"]

REQUIRED_REQUEST_HEADERS = ("to", "from", "cseq", "call-id", "max-forwards", "via")
_SINGLE_REQUEST_HEADERS = ("to", "from", "cseq", "call-id", "max-forwards")
_SUPPORTED_VERSION = "SIP/2.0"
# RFC 3261 §25.1 SIP-date = rfc1123-date, which is always in GMT.
_SIP_DATE_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def validate_request(method: str, version: str, headers: Headers, *, uri_headers: bool) -> None:
    """Check a parsed request's version, mandatory fields and their syntax.

    Args:
        method: the Request-Line's method.
        version: the Request-Line's SIP version.
        headers: the header fields.
        uri_headers: whether the Request-URI carries URI headers.

    Raises:
        SipParseError: 505 for another SIP version, else 400 with the cause.
    """
    _check_version(version)
    fields = headers.by_name()
    missing = [name for name in REQUIRED_REQUEST_HEADERS if name not in fields]
    if missing:
        raise SipParseError(f"Missing {', '.join(missing)} header(s)")
    for name in _SINGLE_REQUEST_HEADERS:
        if len(fields[name]) != 1:
            raise SipParseError(f"repeated {name} header")
    _check_common(headers)
    headers.max_forwards()
    if headers.cseq().method != method:
        raise SipParseError("CSeq method does not match the request method")
    if uri_headers:
        # RFC 3261 §19.1.1 table: URI headers are not allowed in a Request-URI.
        raise SipParseError("headers are not allowed in the Request-URI")
    if "contact" in fields:
        headers.contacts()
    if "expires" in fields:
        headers.expires()
    if "date" in fields:
        _check_date(fields["date"])


def validate_response(version: str, headers: Headers) -> None:
    """Check a parsed response's version and the fields used to match it.

    Args:
        version: the Status-Line's SIP version.
        headers: the header fields.

    Raises:
        SipParseError: the response must be discarded (§18.1.2).
    """
    _check_version(version)
    for name in ("to", "from", "cseq", "call-id"):
        headers.single(name)
    _check_common(headers)


def _check_version(version: str) -> None:
    if version.upper() != _SUPPORTED_VERSION:
        raise SipParseError(
            f"SIP version {version} not supported", status=StatusCode.VERSION_NOT_SUPPORTED
        )


def _check_common(headers: Headers) -> None:
    headers.top_via()  # the others are copied to a response as text (§8.2.6.2)
    headers.cseq()
    headers.call_id()
    headers.from_address()
    headers.to_address()
    headers.content_length()


def _check_date(values: list[str]) -> None:
    for value in values:
        if _SIP_DATE_RE.fullmatch(value) is None:
            raise SipParseError(f"bad Date {value!r}")
