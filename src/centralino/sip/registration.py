"""Registering the PBX at a SIP provider: the client side of RFC 3261 §10.

Theory of operation
-------------------
One :class:`RegistrationClient` keeps one binding alive: the PBX's contact
under the address of record ``sip:username@domain`` at the registrar
``sip:host:port``. It is sans-IO: the glue feeds it the current time, the
responses to the requests it asked to send, and the failure of a client
transaction (Timer F, a transport error); it hands back the requests to
send (:meth:`~RegistrationClient.requests_to_send`) and one deadline
(:meth:`~RegistrationClient.get_timer`).

A *round* is one attempt to (re)register: a REGISTER without credentials,
then, on 401/407, the same request with the answer to the challenge
(:class:`~centralino.sip.digest.DigestClient`: MD5 or SHA-256, ``qop=auth``
with ``cnonce`` and ``nc``). A second challenge in the same round means the
credentials are wrong, unless it says ``stale=true`` (once). The phases::

    IDLE --start--> SENDING --2xx--> REGISTERED --timer--> SENDING (refresh)
                      |  ^                                   ...
                      |  +--423 (Min-Expires), once more-----+
                      +--failure--> BACKING_OFF --timer--> SENDING
    any --stop--> UNREGISTERING --final/failure--> STOPPED  (or STOPPED at once
                                                             when nothing is bound)

A refresh is due at half the granted expiry (the ``expires`` of our Contact
in the 2xx, else its Expires header, else what was asked). Failures back
off from 30 s, doubling to 10 min (``Retry-After`` is honoured when it asks
for longer). :meth:`~RegistrationClient.reconfigure` applies a changed
account: when only the credentials or the expiry changed, the binding is
refreshed at once with the new ones; otherwise the old binding is removed
(``Expires: 0``) first and the new account is registered after that answer,
so the removal can never land after, and undo, the new binding.

All REGISTERs of one binding share a Call-ID with increasing CSeq (§10.2);
responses of an older CSeq are ignored.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, replace

from .address import NameAddress
from .codes import StatusCode
from .digest import DigestClient, DigestParseError, choose_challenge
from .errors import SipError
from .headers import ContactStar, Via
from .message import Request, Response, make_request
from .uri import Uri

__all__ = [
    "BackoffPolicy",
    "RegistrationAccount",
    "RegistrationClient",
    "RegistrationPhase",
    "RegistrationSnapshot",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationAccount:
    """Where and as whom to register, and the contact to bind."""

    registrar_host: str
    """The registrar's host (the Request-URI host; the glue resolves it)."""
    registrar_port: int = 5060
    transport: str = "udp"
    """``udp`` or ``tcp``: written in the Via and the Contact."""
    username: str
    """The address of record's user part."""
    domain: str
    """The address of record's host (usually the registrar's host)."""
    auth_user: str
    password: str
    expires: int = 3600
    contact_host: str
    contact_port: int

    @property
    def binding_key(self) -> tuple[str, int, str, str, str, str, int]:
        """What names the binding: a change here needs an un-REGISTER first."""
        return (
            self.registrar_host,
            self.registrar_port,
            self.transport,
            self.username,
            self.domain,
            self.contact_host,
            self.contact_port,
        )

    @property
    def contact_uri(self) -> Uri:
        """The PBX's contact: where the provider sends calls for this account."""
        uri = Uri(user=self.username, host=self.contact_host, port=self.contact_port)
        return uri if self.transport == "udp" else uri.with_parameter("transport", self.transport)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffPolicy:
    """How long to wait after failures: ``first`` doubling up to ``longest``."""

    first: float = 30.0
    longest: float = 600.0
    max_interval_retries: int = 3
    """423 answers in a row before the round counts as failed."""

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (1 for the first)."""
        return float(min(self.longest, self.first * 2 ** max(0, failures - 1)))


class RegistrationPhase(enum.Enum):
    """Where the client stands (see the module's diagram)."""

    IDLE = "idle"
    SENDING = "sending"
    REGISTERED = "registered"
    BACKING_OFF = "backing-off"
    UNREGISTERING = "unregistering"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationSnapshot:
    """What the client can tell about its binding now."""

    phase: RegistrationPhase
    bound: bool
    """The registrar holds our contact (a 2xx granted it and it has not lapsed)."""
    last_response: int | None
    last_error: str | None
    next_refresh: float | None
    """When the next REGISTER is due (refresh or retry), on the clock given as ``now``."""
    expires_at: float | None
    failures: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _Round:
    authenticated: bool = False
    stale_retried: bool = False
    interval_retries: int = 0


class RegistrationClient:
    """Keeps one registration alive (see the module's theory of operation)."""

    def __init__(
        self,
        account: RegistrationAccount,
        *,
        policy: BackoffPolicy | None = None,
        call_id: str | None = None,
    ) -> None:
        self._account = account
        self._pending: RegistrationAccount | None = None
        self._policy = policy if policy is not None else BackoffPolicy()
        self._call_id = call_id or f"{secrets.token_hex(10)}@centralino"
        self._from_tag = secrets.token_hex(6)
        self._cseq = secrets.randbelow(2**20) + 1
        self._expires = account.expires
        self._digest = DigestClient(username=account.auth_user, password=account.password)
        self._round = _Round()
        self._phase = RegistrationPhase.IDLE
        self._deadline: float | None = None
        self._expires_at: float | None = None
        self._outbox: list[Request] = []
        self._last_response: int | None = None
        self._last_error: str | None = None
        self._failures = 0
        self._stopping = False

    # Inputs -----------------------------------------------------------------

    @property
    def account(self) -> RegistrationAccount:
        """The account registered (or being registered) now."""
        return self._account

    def start(self, now: float) -> None:
        """Send the first REGISTER (from IDLE only)."""
        if self._phase is RegistrationPhase.IDLE:
            self._new_round()

    def stop(self, now: float) -> None:
        """Remove the binding (``Expires: 0``) if one may exist; then STOPPED."""
        self._pending = None
        self._stopping = True
        if self._phase in (RegistrationPhase.STOPPED, RegistrationPhase.UNREGISTERING):
            return
        if self._phase is RegistrationPhase.SENDING or self.bound(now):
            self._unregister()
        else:
            self._finish()

    def reconfigure(self, account: RegistrationAccount, now: float) -> None:
        """Register ``account`` instead: refreshed at once, or after an un-REGISTER."""
        if self._stopping or (account == self._account and self._pending is None):
            return
        if self._phase is RegistrationPhase.UNREGISTERING:
            self._pending = account  # registered once the removal is answered
            return
        same_binding = account.binding_key == self._account.binding_key
        if same_binding or (self._phase is not RegistrationPhase.SENDING and not self.bound(now)):
            self._use(account, new_call=not same_binding)
            if self._phase is not RegistrationPhase.IDLE:
                self._new_round()
            return
        self._pending = account
        self._unregister()

    def receive_response(self, response: Response, now: float) -> None:
        """Feed a response to one of our REGISTERs (others are ignored)."""
        if not self._ours(response) or response.status < StatusCode.OK:
            return
        self._last_response = response.status
        if self._phase is RegistrationPhase.UNREGISTERING:
            self._unregister_answered(response, now)
        elif self._phase is RegistrationPhase.SENDING:
            self._register_answered(response, now)

    def transaction_failed(self, now: float, *, reason: str = "no answer") -> None:
        """The REGISTER in flight got no final response (timeout, transport error)."""
        if self._phase is RegistrationPhase.UNREGISTERING:
            self._after_unregister(now)
        elif self._phase is RegistrationPhase.SENDING:
            self._last_response = None
            self._fail(now, reason)

    def handle_timer(self, now: float) -> None:
        """Refresh or retry when the deadline has come."""
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if self._phase in (RegistrationPhase.REGISTERED, RegistrationPhase.BACKING_OFF):
            self._new_round()

    # Outputs ----------------------------------------------------------------

    def get_timer(self) -> float | None:
        """The next refresh or retry, or None."""
        return self._deadline

    def requests_to_send(self) -> list[Request]:
        """The REGISTERs to send now (each starts a client transaction)."""
        out, self._outbox = self._outbox, []
        return out

    @property
    def phase(self) -> RegistrationPhase:
        """The phase (see the module's diagram)."""
        return self._phase

    @property
    def finished(self) -> bool:
        """Stopped, and the un-REGISTER (if any) answered or given up."""
        return self._phase is RegistrationPhase.STOPPED

    def bound(self, now: float) -> bool:
        """Whether the registrar holds our contact at ``now``."""
        return self._expires_at is not None and now < self._expires_at

    def snapshot(self, now: float) -> RegistrationSnapshot:
        """The client's state, for a status report."""
        return RegistrationSnapshot(
            phase=self._phase,
            bound=self.bound(now),
            last_response=self._last_response,
            last_error=self._last_error,
            next_refresh=self._deadline,
            expires_at=self._expires_at,
            failures=self._failures,
        )

    # Registering --------------------------------------------------------------

    def _new_round(self) -> None:
        self._round = _Round()
        self._phase = RegistrationPhase.SENDING
        self._deadline = None
        self._send(self._expires, authorization=None)

    def _register_answered(self, response: Response, now: float) -> None:
        status = response.status
        if StatusCode.OK <= status < StatusCode.MULTIPLE_CHOICES:
            self._registered(response, now)
        elif status in (StatusCode.UNAUTHORIZED, StatusCode.PROXY_AUTHENTICATION_REQUIRED):
            self._challenged(response, now, self._expires)
        elif status == StatusCode.INTERVAL_TOO_BRIEF:
            self._too_brief(response, now)
        else:
            self._fail(now, f"{status} {response.reason}".strip(), _retry_after(response))

    def _registered(self, response: Response, now: float) -> None:
        granted = _granted_expiry(response, self._account.contact_uri, self._expires)
        if granted <= 0:
            self._fail(now, "the registrar kept no binding for our contact")
            return
        self._phase = RegistrationPhase.REGISTERED
        self._failures = 0
        self._last_error = None
        self._expires_at = now + granted
        self._deadline = now + max(1.0, granted / 2)

    def _challenged(self, response: Response, now: float, expires: int) -> None:
        challenge_header = (
            "www-authenticate"
            if response.status == StatusCode.UNAUTHORIZED
            else "proxy-authenticate"
        )
        try:
            challenge = choose_challenge(response.headers.get_all(challenge_header))
        except DigestParseError:
            challenge = None
        if challenge is None:
            self._fail(now, f"{response.status}: no digest challenge we can answer")
            return
        state = self._round
        if state.authenticated and not (challenge.stale and not state.stale_retried):
            self._fail(now, f"{response.status}: the provider refused the credentials")
            return
        self._round = replace(
            state,
            authenticated=True,
            stale_retried=state.stale_retried or (state.authenticated and challenge.stale),
        )
        header = (
            "Authorization" if challenge_header == "www-authenticate" else "Proxy-Authorization"
        )
        credentials = self._digest.authorize(
            challenge, method="REGISTER", uri=str(self._registrar_uri())
        )
        self._send(expires, authorization=(header, str(credentials)))

    def _too_brief(self, response: Response, now: float) -> None:
        minimum = _int_header(response, "min-expires")
        retries = self._round.interval_retries + 1
        if (
            minimum is None
            or minimum <= self._expires
            or retries > self._policy.max_interval_retries
        ):
            self._fail(now, "423: the registrar wants a longer interval than it names")
            return
        self._expires = minimum
        self._round = _Round(interval_retries=retries)
        self._send(self._expires, authorization=None)

    def _fail(self, now: float, reason: str, retry_after: int | None = None) -> None:
        self._failures += 1
        self._last_error = reason
        self._expires_at = None
        self._phase = RegistrationPhase.BACKING_OFF
        delay = self._policy.delay(self._failures)
        if retry_after is not None:
            delay = max(delay, float(retry_after))
        self._deadline = now + delay

    # Un-registering -------------------------------------------------------------

    def _unregister(self) -> None:
        self._round = _Round()
        self._phase = RegistrationPhase.UNREGISTERING
        self._deadline = None
        self._send(0, authorization=None)

    def _unregister_answered(self, response: Response, now: float) -> None:
        status = response.status
        challenge = status in (StatusCode.UNAUTHORIZED, StatusCode.PROXY_AUTHENTICATION_REQUIRED)
        if challenge and not self._round.authenticated:
            self._challenged(response, now, 0)
            if self._phase is RegistrationPhase.UNREGISTERING:
                return
        self._after_unregister(now)

    def _after_unregister(self, now: float) -> None:
        self._expires_at = None
        pending, self._pending = self._pending, None
        if pending is None:
            self._finish()
            return
        self._use(pending, new_call=True)
        self._failures = 0
        self._new_round()

    def _finish(self) -> None:
        self._phase = RegistrationPhase.STOPPED
        self._deadline = None
        self._expires_at = None

    # Messages ----------------------------------------------------------------------

    def _use(self, account: RegistrationAccount, *, new_call: bool = False) -> None:
        self._account = account
        self._expires = account.expires
        self._digest = DigestClient(username=account.auth_user, password=account.password)
        if new_call:
            self._call_id = f"{secrets.token_hex(10)}@centralino"

    def _registrar_uri(self) -> Uri:
        account = self._account
        uri = Uri(host=account.registrar_host, port=account.registrar_port)
        return (
            uri
            if account.transport == "udp"
            else uri.with_parameter("transport", account.transport)
        )

    def _send(self, expires: int, *, authorization: tuple[str, str] | None) -> None:
        account = self._account
        self._cseq += 1
        aor = Uri(user=account.username, host=account.domain)
        via = Via(
            transport=account.transport.upper(),
            host=account.contact_host,
            port=account.contact_port,
        ).with_parameters([("branch", "z9hG4bK" + secrets.token_hex(8)), ("rport", None)])
        headers = [
            ("Contact", f"<{account.contact_uri}>"),
            ("Expires", str(expires)),
            ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, UPDATE, INFO"),
            ("User-Agent", "Centralino"),
        ]
        if authorization is not None:
            headers.append(authorization)
        self._outbox.append(
            make_request(
                "REGISTER",
                self._registrar_uri(),
                via=via,
                from_address=NameAddress(uri=aor).with_tag(self._from_tag),
                to_address=NameAddress(uri=aor),
                call_id=self._call_id,
                cseq=self._cseq,
                extra_headers=headers,
            )
        )

    def _ours(self, response: Response) -> bool:
        try:
            cseq = response.headers.cseq()
            call_id = response.headers.call_id()
        except SipError:
            return False
        return call_id == self._call_id and cseq.number == self._cseq and cseq.method == "REGISTER"


_SERVER_TIME_OUT = 504


def _int_header(response: Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    text = value.strip().split(";", 1)[0].split("(", 1)[0].strip()
    return int(text) if text.isdigit() else None


def _retry_after(response: Response) -> int | None:
    if response.status not in (StatusCode.SERVICE_UNAVAILABLE, _SERVER_TIME_OUT):
        return None
    return _int_header(response, "retry-after")


def _granted_expiry(response: Response, contact: Uri, asked: int) -> int:
    """The expiry the registrar granted our contact (RFC 3261 §10.2.4)."""
    try:
        contacts = response.headers.contacts()
        header = response.headers.expires()
    except SipError:
        return asked
    if isinstance(contacts, ContactStar) or not contacts:
        return header if header is not None else asked
    for item in contacts:
        if _same_contact(item.uri, contact):
            value = item.parameters.get("expires")
            if value is not None and value.strip().isdigit():
                return int(value)
            return header if header is not None else asked
    # Some registrars rewrite the contact (NAT fix-ups): take a lone binding's.
    if len(contacts) == 1:
        value = contacts[0].parameters.get("expires")
        if value is not None and value.strip().isdigit():
            return int(value)
    return header if header is not None else asked


def _same_contact(listed: Uri, ours: Uri) -> bool:
    return (
        listed.user == ours.user
        and listed.host.lower() == ours.host.lower()
        and (listed.port or 5060) == (ours.port or 5060)
    )
