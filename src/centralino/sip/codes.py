"""SIP wire vocabulary: request methods and response status codes.

Methods are an open set (RFC 3261 §7.1: any token is a method), so a
request's method stays a ``str`` on the wire; :class:`Method` names the ones
this stack understands and, being a ``StrEnum``, compares equal to them.
Status codes are named in :class:`StatusCode` so no magic number appears in
protocol logic (RFC 3261 §21 plus the extensions a PBX meets).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Method", "StatusClass", "StatusCode", "reason_phrase", "status_class"]


class Method(StrEnum):
    """Methods this stack knows (RFC 3261 §27.4 and extensions)."""

    INVITE = "INVITE"
    ACK = "ACK"
    BYE = "BYE"
    CANCEL = "CANCEL"
    OPTIONS = "OPTIONS"
    REGISTER = "REGISTER"
    PRACK = "PRACK"
    SUBSCRIBE = "SUBSCRIBE"
    NOTIFY = "NOTIFY"
    PUBLISH = "PUBLISH"
    INFO = "INFO"
    REFER = "REFER"
    MESSAGE = "MESSAGE"
    UPDATE = "UPDATE"


class StatusClass(IntEnum):
    """The first digit of a status code (RFC 3261 §7.2)."""

    PROVISIONAL = 1
    SUCCESS = 2
    REDIRECTION = 3
    CLIENT_ERROR = 4
    SERVER_ERROR = 5
    GLOBAL_FAILURE = 6


class StatusCode(IntEnum):
    """Response codes with their default reason phrases (RFC 3261 §21)."""

    TRYING = 100
    RINGING = 180
    CALL_IS_BEING_FORWARDED = 181
    QUEUED = 182
    SESSION_PROGRESS = 183
    OK = 200
    ACCEPTED = 202
    NO_NOTIFICATION = 204
    MULTIPLE_CHOICES = 300
    MOVED_PERMANENTLY = 301
    MOVED_TEMPORARILY = 302
    USE_PROXY = 305
    ALTERNATIVE_SERVICE = 380
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    PAYMENT_REQUIRED = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406
    PROXY_AUTHENTICATION_REQUIRED = 407
    REQUEST_TIMEOUT = 408
    GONE = 410
    CONDITIONAL_REQUEST_FAILED = 412
    REQUEST_ENTITY_TOO_LARGE = 413
    REQUEST_URI_TOO_LONG = 414
    UNSUPPORTED_MEDIA_TYPE = 415
    UNSUPPORTED_URI_SCHEME = 416
    BAD_EXTENSION = 420
    EXTENSION_REQUIRED = 421
    SESSION_INTERVAL_TOO_SMALL = 422
    INTERVAL_TOO_BRIEF = 423
    TEMPORARILY_UNAVAILABLE = 480
    CALL_TRANSACTION_DOES_NOT_EXIST = 481
    LOOP_DETECTED = 482
    TOO_MANY_HOPS = 483
    ADDRESS_INCOMPLETE = 484
    AMBIGUOUS = 485
    BUSY_HERE = 486
    REQUEST_TERMINATED = 487
    NOT_ACCEPTABLE_HERE = 488
    BAD_EVENT = 489
    REQUEST_PENDING = 491
    UNDECIPHERABLE = 493
    SERVER_INTERNAL_ERROR = 500
    NOT_IMPLEMENTED = 501
    BAD_GATEWAY = 502
    SERVICE_UNAVAILABLE = 503
    SERVER_TIMEOUT = 504
    VERSION_NOT_SUPPORTED = 505
    MESSAGE_TOO_LARGE = 513
    BUSY_EVERYWHERE = 600
    DECLINE = 603
    DOES_NOT_EXIST_ANYWHERE = 604
    NOT_ACCEPTABLE_ANYWHERE = 606


_SPECIAL_PHRASES = {
    StatusCode.OK: "OK",
    StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST: "Call/Transaction Does Not Exist",
    StatusCode.SERVER_INTERNAL_ERROR: "Server Internal Error",
    StatusCode.VERSION_NOT_SUPPORTED: "Version Not Supported",
    StatusCode.UNSUPPORTED_URI_SCHEME: "Unsupported URI Scheme",
    StatusCode.REQUEST_URI_TOO_LONG: "Request-URI Too Long",
}


def reason_phrase(code: int) -> str:
    """Return the default reason phrase for a status code.

    Args:
        code: any three-digit status code.

    Returns:
        The RFC 3261 §21 phrase, or a generic phrase for unknown codes.
    """
    try:
        known = StatusCode(code)
    except ValueError:
        return "Unknown"
    special = _SPECIAL_PHRASES.get(known)
    if special is not None:
        return special
    return known.name.replace("_", " ").title()


def status_class(code: int) -> StatusClass:
    """Return the class (first digit) of a status code.

    Args:
        code: a status code from 100 to 699.

    Returns:
        The matching :class:`StatusClass`.

    Raises:
        ValueError: the code is outside 100-699.
    """
    return StatusClass(code // 100)
