"""Builders of the messages a B2BUA originates or relays.

Theory of operation. A B2BUA never forwards a message: it writes a new one
for the other leg. These functions do the writing, from the message being
relayed and the facts of the leg (its Call-ID, tags, peer, our Contact), so
the call logic never handles header text. Only the session (SDP body and its
Content-Type) and a few end-to-end fields cross from one leg to the other;
Via, Route, Record-Route, Supported and Require stay on their own leg (we
offer no PRACK or session timers to either side).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from centralino.domain.extension import Extension
from centralino.sip.address import NameAddress
from centralino.sip.codes import Method, StatusCode
from centralino.sip.headers import Headers, Via
from centralino.sip.message import Request, Response, make_request, make_response
from centralino.sip.parameters import Parameters
from centralino.sip.peer import TransportKind
from centralino.sip.uri import Uri

__all__ = [
    "ALLOW",
    "body_headers",
    "cancel_for",
    "contact_of",
    "extension_address",
    "our_via",
    "outbound_invite",
    "record_routes",
    "relayed_response",
]

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
_RELAYED_FIELDS = ("content-type", "content-disposition", "alert-info")


def our_via(host: str, port: int, kind: TransportKind) -> Via:
    """A Via naming us (``host:port`` over ``kind``), with a fresh RFC 3261 branch and rport.

    Built as a value, never written and parsed back: the core sends many.
    """
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    return Via(
        transport=kind.via_name,
        host=host,
        port=port,
        parameters=Parameters((("branch", branch), ("rport", None))),
    )


def contact_of(host: str, port: int, kind: TransportKind, user: str) -> NameAddress:
    """Our Contact on one leg: requests of that dialog come back to the PBX."""
    uri = Uri(scheme="sip", user=user, host=host, port=port)
    if kind is TransportKind.TCP:
        uri = uri.with_parameter("transport", "tcp")
    return NameAddress(uri=uri)


def extension_address(extension: Extension, host: str) -> NameAddress:
    """``"First Last" <sip:101@host>``: how a leg names an extension."""
    uri = Uri(scheme="sip", user=extension.number, host=host)
    return NameAddress(uri=uri, display_name=extension.display_name)


def body_headers(source: Request | Response, body: bytes) -> list[tuple[str, str]]:
    """The fields that describe ``body`` (copied from ``source`` when it has one)."""
    if not body:
        return []
    return [(name, value) for name, value in source.headers if name.lower() in _RELAYED_FIELDS]


def outbound_invite(
    original: Request,
    *,
    target: Uri,
    via: Via,
    from_address: NameAddress,
    to_address: NameAddress,
    call_id: str,
    contact: NameAddress,
    body: bytes,
) -> Request:
    """The INVITE of one callee leg (a fork), written from the caller's INVITE.

    Max-Forwards is the caller's minus one (RFC 3261 §16.6 spirit: a B2BUA
    still must not let a loop run forever).
    """
    hops = original.headers.max_forwards()
    extra = [("Contact", str(contact)), ("Allow", ALLOW), *body_headers(original, body)]
    return make_request(
        Method.INVITE,
        target,
        via=via,
        from_address=from_address,
        to_address=to_address,
        call_id=call_id,
        cseq=1,
        max_forwards=70 if hops is None else max(hops - 1, 0),
        extra_headers=extra,
        body=body,
    )


def cancel_for(invite: Request, reason: str | None = None) -> Request:
    """The CANCEL of ``invite`` (RFC 3261 §9.1): same Via, Call-ID, tags, CSeq number.

    Args:
        invite: the INVITE we sent.
        reason: a RFC 3326 Reason value, e.g. for "answered elsewhere".
    """
    source = invite.headers
    fields = [
        ("Via", source.get_all("via")[0]),
        ("Max-Forwards", "70"),
        ("From", source.single("from")),
        ("To", source.single("to")),
        ("Call-ID", source.call_id()),
        ("CSeq", f"{source.cseq().number} {Method.CANCEL}"),
    ]
    if reason is not None:
        fields.append(("Reason", reason))
    fields.append(("Content-Length", "0"))
    return Request(method=Method.CANCEL, uri=invite.uri, headers=Headers(fields))


def relayed_response(
    request: Request,
    source: Response,
    *,
    to_tag: str | None,
    contact: NameAddress | None,
    body: bytes,
    extra: Iterable[tuple[str, str]] = (),
) -> Response:
    """Our answer to ``request`` carrying the status and session of ``source``."""
    fields = [("Contact", str(contact))] if contact is not None else []
    if source.status > StatusCode.TRYING and source.status < 300:
        fields += record_routes(request)
    if source.is_success and request.method == Method.INVITE:
        fields.append(("Allow", ALLOW))
    fields += [*extra, *body_headers(source, body)]
    return make_response(
        request, source.status, source.reason, to_tag=to_tag, extra_headers=fields, body=body
    )


def local_answer(
    request: Request,
    *,
    to_tag: str,
    contact: NameAddress,
    body: bytes,
    status: int = StatusCode.OK,
) -> Response:
    """Our own answer to an INVITE the PBX answers (voicemail), with our SDP.

    ``status`` 183 (Session Progress) carries early media: a refusal's
    spoken explanation before its final error.
    """
    fields = [
        ("Contact", str(contact)),
        *record_routes(request),
        ("Allow", ALLOW),
        ("Content-Type", "application/sdp"),
    ]
    return make_response(request, status, None, to_tag=to_tag, extra_headers=fields, body=body)


def record_routes(request: Request) -> list[tuple[str, str]]:
    """The request's Record-Route, copied into our 1xx/2xx answer (RFC 3261 §12.1.1).

    A proxy in front of us (a provider's) record-routes to stay on the
    dialog's path: without these the caller's ACK and BYE cannot find it.
    """
    return [("Record-Route", value) for value in request.headers.get_all("record-route")]
