"""Unsolicited NOTIFY ``Event: check-sync``: tell a phone to re-provision.

Theory of operation. When an extension's SIP credentials change, its phones
must fetch their configuration again (SPEC 2.1). Phones of every major
vendor do that on an unsolicited NOTIFY carrying ``Event: check-sync``
(RFC 3265-style, outside any subscription, hence ``Subscription-State:
terminated``). Each NOTIFY is its own client transaction, sent to where the
phone's REGISTER came from (its NAT binding), Request-URI = its contact. It
reuses the registration's Call-ID (as FreeSWITCH does), so the phone, and
test tools that match messages by Call-ID, relate it to its registration. The
answer is ignored: a phone that does not understand it simply keeps going
until its registration fails with the old credentials.
"""

from __future__ import annotations

import secrets

import structlog

from centralino.domain.location import Binding
from centralino.net.transport import Peer, TransportKind
from centralino.sip.address import NameAddress
from centralino.sip.errors import SipError
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request
from centralino.sip.uri import Uri
from centralino.telephony.sip_server import ClientOutcome, SipServer, new_tag

__all__ = ["CHECK_SYNC", "CheckSyncNotifier", "unsolicited_notify"]

log = structlog.get_logger("centralino.telephony")

CHECK_SYNC = "check-sync;reboot=false"


class CheckSyncNotifier:
    """Sends check-sync NOTIFYs through a :class:`SipServer`."""

    def __init__(self, sip: SipServer) -> None:
        self._sip = sip

    def check_sync(self, binding: Binding) -> None:
        """Send one NOTIFY check-sync to a bound contact (fire and forget)."""
        try:
            kind = TransportKind(binding.transport)
            request = self.build(binding, kind)
        except (SipError, ValueError):
            log.warning("no check-sync for an unusable contact", contact=binding.contact)
            return
        peer = Peer(kind, binding.host, binding.port)
        self._sip.send_request(request, peer, self._ignore)

    def build(self, binding: Binding, kind: TransportKind) -> Request:
        """The NOTIFY for ``binding`` (a fresh tag and branch)."""
        return unsolicited_notify(self._sip, binding, kind, event=CHECK_SYNC, state="terminated")

    def _ignore(self, outcome: ClientOutcome) -> None:
        if outcome.timed_out or outcome.transport_failed:
            log.info("check-sync NOTIFY not answered")


def unsolicited_notify(
    sip: SipServer,
    binding: Binding,
    kind: TransportKind,
    *,
    event: str,
    state: str,
    content_type: str | None = None,
    body: bytes = b"",
) -> Request:
    """A NOTIFY outside any subscription to ``binding``'s contact.

    Request-URI = the contact, the registration's Call-ID reused (see the
    module docstring), a fresh From tag and a random CSeq.

    Raises:
        SipError, ValueError: the contact cannot be written as a request.
    """
    contact = Uri.parse(binding.contact)
    host = sip.advertised_host_for(binding.host)
    local = Uri(user=binding.number, host=host, port=sip.local_port(kind))
    headers = [("Contact", f"<{local}>"), ("Event", event), ("Subscription-State", state)]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return make_request(
        "NOTIFY",
        contact,
        via=Via.parse(sip.via(kind, to=binding.host)),
        from_address=NameAddress(uri=local).with_tag(new_tag()),
        to_address=NameAddress(uri=contact),
        call_id=binding.call_id,
        cseq=secrets.randbelow(2**30) + 1,
        extra_headers=headers,
        body=body,
    )
