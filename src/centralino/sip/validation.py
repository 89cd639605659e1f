"""Checks every parsed message must pass before the transaction layer sees it.

RFC 3261 §8.1.1 lists the fields a request must carry (To, From, CSeq,
Call-ID, Max-Forwards, Via) and §8.2.2 / §16.3 the basic sanity a server
applies; a response needs Via, From, To, Call-ID and CSeq to be matched
to a transaction (§17.1.3). Fields every layer relies on are parsed here,
eagerly, so that a malformed one is answered with 400 at the edge (RFC 4475
§3.1.2) instead of failing deep inside a dialog. Fields only a later layer
understands (Require, Content-Type, Authorization) are left to that layer.

A failure raises :class:`~centralino.sip.errors.SipParseError` carrying the
message (``error.message``) so the caller can build the error response.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .codes import StatusCode
from .errors import SipParseError

if TYPE_CHECKING:
    from .headers import Headers
    from .message import Request, Response

__all__ = ["REQUIRED_REQUEST_HEADERS", "validate_request", "validate_response"]

REQUIRED_REQUEST_HEADERS = ("to", "from", "cseq", "call-id", "max-forwards", "via")
_SUPPORTED_VERSION = "SIP/2.0"
# RFC 3261 §25.1 SIP-date = rfc1123-date, which is always in GMT.
_SIP_DATE_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def validate_request(request: Request) -> None:
    """Check a parsed request's version, mandatory fields and their syntax.

    Args:
        request: the freshly parsed request.

    Raises:
        SipParseError: 505 for another SIP version, else 400 with the cause.
    """
    try:
        _check_request(request)
    except SipParseError as exc:
        exc.message = request
        raise


def validate_response(response: Response) -> None:
    """Check a parsed response's version and the fields used to match it.

    Args:
        response: the freshly parsed response.

    Raises:
        SipParseError: the response must be discarded (§18.1.2).
    """
    try:
        _check_version(response.version)
        for name in ("to", "from", "cseq", "call-id"):
            response.headers.single(name)
        _check_common(response.headers)
    except SipParseError as exc:
        exc.message = response
        raise


def _check_request(request: Request) -> None:
    _check_version(request.version)
    headers = request.headers
    missing = [name for name in REQUIRED_REQUEST_HEADERS if name not in headers]
    if missing:
        raise SipParseError(f"Missing {', '.join(missing)} header(s)")
    for name in ("to", "from", "cseq", "call-id", "max-forwards"):
        headers.single(name)
    _check_common(headers)
    headers.max_forwards()
    if headers.cseq().method != request.method:
        raise SipParseError("CSeq method does not match the request method")
    if request.uri.headers:
        # RFC 3261 §19.1.1 table: URI headers are not allowed in a Request-URI.
        raise SipParseError("headers are not allowed in the Request-URI")
    if "contact" in headers:
        headers.contacts()
    headers.expires()
    _check_date(headers.get_all("date"))


def _check_version(version: str) -> None:
    if version.upper() != _SUPPORTED_VERSION:
        raise SipParseError(
            f"SIP version {version} not supported", status=StatusCode.VERSION_NOT_SUPPORTED
        )


def _check_common(headers: Headers) -> None:
    if not headers.vias():
        raise SipParseError("Missing via header(s)")
    headers.cseq()
    headers.call_id()
    headers.from_address()
    headers.to_address()
    headers.content_length()


def _check_date(values: list[str]) -> None:
    for value in values:
        if _SIP_DATE_RE.fullmatch(value) is None:
            raise SipParseError(f"bad Date {value!r}")
