"""Dialogs: the peer-to-peer relationship a 2xx or 1xx-with-tag creates (RFC 3261 §12).

Theory of operation
-------------------
A dialog is identified by Call-ID, local tag and remote tag (§12). It is
created from the INVITE (or SUBSCRIBE...) and the response that carries a
To tag: :meth:`Dialog.from_uac` on the calling side, :meth:`Dialog.from_uas`
on the answering side. It remembers what every later request needs:

* the route set, from Record-Route: reversed on the UAC, as is on the UAS
  (§12.1.1, §12.1.2), recomputed when a 2xx confirms an early dialog
  (§13.2.2.4);
* the remote target, from Contact, updated by target-refresh requests and
  their 2xx (§12.2);
* the local CSeq (incremented per new request) and the remote CSeq (a
  lower one is refused with 500, §12.2.2).

:meth:`Dialog.create_request` builds in-dialog requests (BYE, re-INVITE,
INFO...) applying loose or strict routing (§12.2.1.1), and
:meth:`Dialog.create_ack` the ACK of a 2xx, which reuses the INVITE's CSeq
number (§13.2.2.4). The caller supplies the Via (with a fresh branch) since
only the transport glue knows the local address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum, auto

from .address import NameAddress
from .codes import Method, StatusCode
from .errors import LocalProtocolError, PeerError, SipParseError
from .headers import ContactStar, Via
from .message import Request, Response, make_request
from .uri import Uri

__all__ = ["TARGET_REFRESH_METHODS", "Dialog", "DialogId", "DialogState"]

# Methods whose request and 2xx update the remote target (§12.2, RFC 3311, RFC 6665).
TARGET_REFRESH_METHODS = frozenset(
    {Method.INVITE, Method.UPDATE, Method.SUBSCRIBE, Method.NOTIFY, Method.REFER}
)


class DialogState(Enum):
    """Dialog states of RFC 3261 §12."""

    EARLY = auto()
    CONFIRMED = auto()
    TERMINATED = auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogId:
    """Call-ID plus both tags (§12)."""

    call_id: str
    local_tag: str
    remote_tag: str


class Dialog:
    """The state of one dialog, from either side."""

    def __init__(
        self,
        *,
        call_id: str,
        local_address: NameAddress,
        remote_address: NameAddress,
        remote_target: Uri,
        route_set: Iterable[NameAddress] = (),
        local_sequence: int | None = None,
        remote_sequence: int | None = None,
        state: DialogState = DialogState.CONFIRMED,
        secure: bool = False,
    ) -> None:
        """Create a dialog from its parts (usually via ``from_uac``/``from_uas``).

        Raises:
            LocalProtocolError: either address has no tag.
        """
        if local_address.tag is None or remote_address.tag is None:
            raise LocalProtocolError("both dialog addresses need a tag")
        self.call_id = call_id
        self.local_address = local_address
        self.remote_address = remote_address
        self.remote_target = remote_target
        self.route_set = tuple(route_set)
        self.local_sequence = local_sequence
        self.remote_sequence = remote_sequence
        self.state = state
        self.secure = secure

    @classmethod
    def from_uac(cls, request: Request, response: Response, *, secure: bool = False) -> Dialog:
        """Create the caller's dialog from its request and a tagged response (§12.1.2).

        Args:
            request: the dialog-creating request we sent.
            response: a 101-199 or 2xx response with a To tag.
            secure: whether the request was sent over TLS to a SIPS URI.

        Returns:
            An early (1xx) or confirmed (2xx) dialog.

        Raises:
            SipParseError: the response has no To tag.
        """
        remote = response.headers.to_address()
        if remote.tag is None:
            raise SipParseError("a dialog-creating response needs a To tag")
        return cls(
            call_id=request.headers.call_id(),
            local_address=request.headers.from_address(),
            remote_address=remote,
            remote_target=_contact_uri(response) or request.uri,
            route_set=reversed(response.headers.name_addresses("record-route")),
            local_sequence=request.headers.cseq().number,
            state=DialogState.CONFIRMED if response.is_success else DialogState.EARLY,
            secure=secure,
        )

    @classmethod
    def from_uas(
        cls,
        request: Request,
        local_tag: str,
        *,
        early: bool = False,
        secure: bool = False,
    ) -> Dialog:
        """Create the callee's dialog from the request and our To tag (§12.1.1).

        Args:
            request: the dialog-creating request we received.
            local_tag: the tag we put in To of our responses.
            early: True when created by a 1xx rather than a 2xx.
            secure: whether the request came over TLS with a SIPS URI.

        Returns:
            The dialog.

        Raises:
            SipParseError: the request's From has no tag.
        """
        headers = request.headers
        return cls(
            call_id=headers.call_id(),
            local_address=headers.to_address().with_tag(local_tag),
            remote_address=headers.from_address(),
            remote_target=_contact_uri(request) or headers.from_address().uri,
            route_set=headers.name_addresses("record-route"),
            remote_sequence=headers.cseq().number,
            state=DialogState.EARLY if early else DialogState.CONFIRMED,
            secure=secure,
        )

    @property
    def id(self) -> DialogId:
        """The dialog identifier."""
        return DialogId(
            call_id=self.call_id,
            local_tag=self.local_address.tag or "",
            remote_tag=self.remote_address.tag or "",
        )

    def receive_response(self, response: Response) -> None:
        """Update the dialog from a response to one of our in-dialog or creating requests.

        A 2xx confirms an early dialog and recomputes the route set
        (§13.2.2.4); a 2xx to a target refresh updates the remote target; a
        3xx-6xx ends an early dialog (§12.3).
        """
        method = response.headers.cseq().method
        if response.is_success:
            if self.state is DialogState.EARLY:
                self.route_set = tuple(reversed(response.headers.name_addresses("record-route")))
                self.state = DialogState.CONFIRMED
            if method in TARGET_REFRESH_METHODS:
                self.remote_target = _contact_uri(response) or self.remote_target
        elif response.status >= StatusCode.MULTIPLE_CHOICES and self.state is DialogState.EARLY:
            self.state = DialogState.TERMINATED
        elif self.state is DialogState.EARLY and method == Method.INVITE:
            self.remote_target = _contact_uri(response) or self.remote_target

    def receive_request(self, request: Request) -> None:
        """Check and record an in-dialog request from the peer (§12.2.2).

        Raises:
            PeerError: 500 when its CSeq is lower than the last one seen.
        """
        number = request.headers.cseq().number
        if request.method not in (Method.ACK, Method.CANCEL):
            if self.remote_sequence is not None and number < self.remote_sequence:
                raise PeerError(
                    "CSeq lower than the dialog's remote sequence",
                    status=StatusCode.SERVER_INTERNAL_ERROR,
                    message=request,
                )
            self.remote_sequence = number
        if request.method in TARGET_REFRESH_METHODS:
            self.remote_target = _contact_uri(request) or self.remote_target
        if request.method == Method.BYE:
            self.state = DialogState.TERMINATED

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        contact: NameAddress | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Request:
        """Build a new in-dialog request (§12.2.1.1), taking the next local CSeq.

        Args:
            method: BYE, INVITE (re-INVITE), UPDATE, INFO, REFER, NOTIFY...
            via: our Via with a fresh branch.
            contact: our Contact (required for target refresh requests).
            extra_headers: more fields (Content-Type...).
            body: the body.

        Returns:
            The request.

        Raises:
            LocalProtocolError: ACK/CANCEL (use create_ack / the INVITE), or a
                terminated dialog.
        """
        if method in (Method.ACK, Method.CANCEL):
            raise LocalProtocolError(f"{method} reuses its INVITE's CSeq; not a new request")
        if self.state is DialogState.TERMINATED:
            raise LocalProtocolError("the dialog is terminated")
        self.local_sequence = (self.local_sequence or 0) + 1
        return self._build(method, self.local_sequence, via, contact, extra_headers, body)

    def create_ack(
        self,
        invite: Request,
        *,
        via: Via,
        extra_headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Request:
        """Build the ACK of a 2xx to ``invite``: same CSeq number (§13.2.2.4)."""
        number = invite.headers.cseq().number
        return self._build(Method.ACK, number, via, None, extra_headers, body)

    def terminate(self) -> None:
        """Mark the dialog terminated (after BYE, or a failed early dialog)."""
        self.state = DialogState.TERMINATED

    def _build(
        self,
        method: str,
        number: int,
        via: Via,
        contact: NameAddress | None,
        extra_headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> Request:
        uri, routes = self._routing()
        fields = [("Route", str(route)) for route in routes]
        if contact is not None:
            fields.append(("Contact", str(contact)))
        return make_request(
            method,
            uri,
            via=via,
            from_address=self.local_address,
            to_address=self.remote_address,
            call_id=self.call_id,
            cseq=number,
            extra_headers=[*fields, *extra_headers],
            body=body,
        )

    def _routing(self) -> tuple[Uri, list[NameAddress]]:
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0]
        if first.uri.loose_route:
            return self.remote_target, list(self.route_set)
        # Strict routing (RFC 2543 next hop): the first route becomes the
        # Request-URI and the remote target goes last in Route (§12.2.1.1).
        uri = replace(first.uri, headers=()).without_parameter("method")  # §19.1.1 table 1
        return uri, [*self.route_set[1:], NameAddress(uri=self.remote_target)]


def _contact_uri(message: Request | Response) -> Uri | None:
    contacts = message.headers.contacts() if "contact" in message.headers else []
    if isinstance(contacts, ContactStar) or not contacts:
        return None
    return contacts[0].uri
