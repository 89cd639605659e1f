"""Digest authentication of requests from extensions (REGISTER, INVITE...).

Theory of operation. :meth:`Authenticator.challenge_or_identify` either
returns the authenticated :class:`Extension` or answers the request itself
and returns None. In order:

1. a request the :class:`Throttle` refuses (its address blocked, or its
   address and user name as a pair; see :mod:`.throttle`) is answered 403 at
   once, without any digest work; a request without credentials is refused
   only when its whole address is blocked and no user name is proven there;
2. without credentials for our realm the request is challenged: 401 with
   ``WWW-Authenticate`` (registrar) or 407 with ``Proxy-Authenticate``
   (``proxy=True``, for INVITE and other requests to the PBX as a proxy),
   one header per algorithm of the system setting ``sip.digest_algorithms``,
   read at each challenge (a change applies to the next one, no restart);
3. the credentials' user name is looked up among auth IDs and SIP IDs; an
   unknown name gets the same plain 403 as a wrong password, so the answers
   never reveal which names exist;
4. credentials in an algorithm that is not offered are re-challenged. An
   algorithm counts as offered while it is in the settings, and for one
   nonce lifetime after it was last challenged with: a phone answering a
   SHA-256 challenge just after the administrator switched back to MD5 only
   is verified with SHA-256, the algorithm its still-valid nonce was
   offered with. No failure is counted (no password was tried);
5. :func:`~centralino.sip.digest.verify` decides: a stale or replayed nonce
   (right password) is re-challenged with ``stale=true``, a nonce that is not
   ours is re-challenged, a wrong response is 403, malformed credentials 400;
6. only then (the caller proved the password) are the extension's
   restrictions told: 403 "Extension disabled", 403 "Outside the local
   network" for ``lan_only`` extensions reached from elsewhere.

Every nonce is bound to the address it was sent to (its scope): credentials
returned from another address answer no nonce of ours and are re-challenged,
so a forged source never counts a failure. Every 403 for a wrong password, an
unknown user or malformed credentials counts as a failure of the (address,
user name) pair; a correct password makes the pair proven. Addresses in the
trusted networks (``security.trusted_networks``) are only paused, never
blocked. Every block and every unblock is logged and told to ``on_block``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from centralino.domain.extension import Extension
from centralino.sip.codes import StatusCode, reason_phrase
from centralino.sip.digest import (
    DigestAlgorithm,
    DigestCredentials,
    DigestError,
    DigestSecret,
    DigestVerdict,
    NonceManager,
    build_challenges,
    verify,
)
from centralino.sip.prescan import Scan, stateless_response
from centralino.telephony.directory import Directory
from centralino.telephony.sip_server import IncomingRequest
from centralino.telephony.throttle import Block, Throttle

__all__ = ["Authenticator", "Identity", "Refusal"]

log = structlog.get_logger("centralino.security")

_NONCE_HOLE = "\x00"  # stands for the nonce in the pre-formatted challenges

_Algorithms = tuple[DigestAlgorithm, ...]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sent an authenticated request: the extension and the user name used."""

    extension: Extension
    auth_user: str


class Refusal:
    """Reason phrases of the 403 answers."""

    FORBIDDEN = "Forbidden"
    BLOCKED = "Forbidden"  # a blocked scanner learns nothing either
    DISABLED = "Extension disabled"
    OUTSIDE_LAN = "Outside the local network"


class Authenticator:
    """Challenges requests and identifies the extension that sent them."""

    def __init__(
        self,
        directory: Directory,
        nonces: NonceManager,
        realm: str,
        clock: Callable[[], float] = time.time,
        *,
        throttle: Throttle | None = None,
        on_block: Callable[[Block], None] | None = None,
    ) -> None:
        self.directory = directory
        self.nonces = nonces
        self.realm = realm
        self.throttle = throttle if throttle is not None else Throttle()
        self.on_block = on_block
        """Told of every block and unblock (the engine wires its listeners here)."""
        self._clock = clock
        # Challenge header values with a hole for the nonce, per algorithm list
        # and stale flag: only the nonce changes from one 401 to the next, so
        # the text is formatted once (nonces are base64url: no quoting needed).
        self._challenge_parts: dict[tuple[_Algorithms, bool], list[list[str]]] = {}
        self._last_offered: dict[DigestAlgorithm, float] = {}
        self._algorithms_by_names: dict[tuple[str, ...], _Algorithms] = {}

    @property
    def algorithms(self) -> _Algorithms:
        """The algorithms challenged with now (system setting ``sip.digest_algorithms``)."""
        names = tuple(self.directory.settings.sip.digest_algorithms)
        algorithms = self._algorithms_by_names.get(names)
        if algorithms is None:  # read twice a registration: looked up once per setting
            algorithms = tuple(DigestAlgorithm(name) for name in names)
            if len(self._algorithms_by_names) >= 16:
                self._algorithms_by_names.clear()
            self._algorithms_by_names[names] = algorithms
        return algorithms

    def challenge_or_identify(self, incoming: IncomingRequest, *, proxy: bool) -> Extension | None:
        """Authenticate ``incoming``, or answer it (challenge, 400 or 403).

        Args:
            incoming: the request, not yet answered.
            proxy: True to use 407/Proxy-Authorization (INVITE...), False for
                401/Authorization (REGISTER).

        Returns:
            The authenticated extension, or None when the request was answered.
        """
        identity = self.authenticate(incoming, proxy=proxy)
        return None if identity is None else identity.extension

    def authenticate(self, incoming: IncomingRequest, *, proxy: bool) -> Identity | None:
        """Like :meth:`challenge_or_identify`, also telling the user name used."""
        now = self._clock()
        credentials = self._credentials(incoming, proxy)
        user = None
        if isinstance(credentials, DigestCredentials):
            user = _user_key(credentials.username)
        if self.throttle.refuses(incoming.peer.host, user, now):
            incoming.respond(StatusCode.FORBIDDEN, Refusal.BLOCKED)
            return None
        if credentials is None:
            self.challenge(incoming, proxy=proxy)
            return None
        if isinstance(credentials, DigestError):
            self._fail(incoming, now, "", StatusCode.BAD_REQUEST, "Malformed credentials")
            return None
        return self._identify(incoming, credentials, now, proxy)

    def unblock(self, address: str) -> list[Block]:
        """Lift every block of ``address`` (an administrator's decision); log each.

        Returns:
            The blocks that were in force.
        """
        lifted = self.throttle.unblock(address, self._clock())
        for block in lifted:
            log.warning("unblocked", address=address, user=block.user)
            if self.on_block is not None:
                self.on_block(block)
        return lifted

    def challenge(self, incoming: IncomingRequest, *, proxy: bool, stale: bool = False) -> None:
        """Answer 401 (or 407) with one fresh challenge per algorithm."""
        now = self._clock()
        algorithms = self.algorithms
        nonce = self.nonces.issue(now, incoming.peer.host)
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        status = StatusCode.PROXY_AUTHENTICATION_REQUIRED if proxy else StatusCode.UNAUTHORIZED
        parts = self._parts(algorithms, stale)
        incoming.respond(status, headers=[(name, nonce.join(part)) for part in parts])
        for algorithm in algorithms:
            self._last_offered[algorithm] = now

    def stateless_challenge(
        self, data: bytes, address: str, *, proxy: bool, scan: Scan | None = None
    ) -> bytes | None:
        """The answer to a request without credentials from ``address``, from its raw bytes.

        The same answer :meth:`authenticate` gives such a request (403 when
        the address is blocked, else a 401/407 challenge with a nonce bound
        to ``address``), built without parsing the request or opening a
        transaction: the nonce is self-validating (its MAC covers its time
        and address), so nothing needs remembering until credentials come.

        Args:
            data: the request, as received.
            address: the sender's IP address.
            proxy: 407/Proxy-Authenticate (INVITE...) instead of 401.
            scan: the request's pre-scan, when the caller has it.

        Returns:
            The response bytes; None when the request has no Via.
        """
        now = self._clock()
        if self.throttle.refuses(address, None, now):
            return stateless_response(data, StatusCode.FORBIDDEN, Refusal.BLOCKED, scan=scan)
        algorithms = self.algorithms
        nonce = self.nonces.issue(now, address)
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        status = StatusCode.PROXY_AUTHENTICATION_REQUIRED if proxy else StatusCode.UNAUTHORIZED
        headers = tuple((name, nonce.join(part)) for part in self._parts(algorithms, False))
        for algorithm in algorithms:
            self._last_offered[algorithm] = now
        return stateless_response(data, status, reason_phrase(status), headers=headers, scan=scan)

    def _parts(self, algorithms: _Algorithms, stale: bool) -> list[list[str]]:
        parts = self._challenge_parts.get((algorithms, stale))
        if parts is None:
            challenges = build_challenges(
                realm=self.realm, nonce=_NONCE_HOLE, algorithms=algorithms, stale=stale
            )
            parts = [str(challenge).split(_NONCE_HOLE) for challenge in challenges]
            self._challenge_parts[algorithms, stale] = parts
        return parts

    def _offered(self, algorithm: DigestAlgorithm, now: float) -> bool:
        """Whether a nonce still valid may have been issued with ``algorithm``."""
        if algorithm in self.algorithms:
            return True
        last = self._last_offered.get(algorithm)
        return last is not None and now - last <= self.nonces.lifetime

    def _credentials(
        self, incoming: IncomingRequest, proxy: bool
    ) -> DigestCredentials | DigestError | None:
        name = "proxy-authorization" if proxy else "authorization"
        error: DigestError | None = None
        for value in incoming.request.headers.get_all(name):
            try:
                credentials = DigestCredentials.parse(value)
            except DigestError as exc:
                error = exc
                continue
            if credentials.realm == self.realm:
                return credentials
        return error  # credentials for other realms only: challenge for ours

    def _identify(
        self,
        incoming: IncomingRequest,
        credentials: DigestCredentials,
        now: float,
        proxy: bool,
    ) -> Identity | None:
        if not self._offered(credentials.algorithm, now):
            self.challenge(incoming, proxy=proxy)  # not answering one of ours: offer them
            return None
        extension = self.directory.by_sip_user(credentials.username)
        if extension is None:
            if self.directory.settling:
                self.challenge(incoming, proxy=proxy)  # maybe just renamed: retry
            else:
                user = _user_key(credentials.username)
                self._fail(incoming, now, user, StatusCode.FORBIDDEN, Refusal.FORBIDDEN)
            return None
        verdict = verify(
            credentials,
            method=incoming.request.method,
            realm=self.realm,
            secret=DigestSecret(password=extension.auth_password),
            nonces=self.nonces,
            now=now,
            body=incoming.request.body,
            nonce_scope=incoming.peer.host,
        )
        user = _user_key(credentials.username)
        if verdict is DigestVerdict.OK:
            self.throttle.record_success(incoming.peer.host, user, now)
            admitted = self._admit(incoming, extension)
            return None if admitted is None else Identity(admitted, credentials.username)
        if verdict.response_status == StatusCode.UNAUTHORIZED:
            self.challenge(incoming, proxy=proxy, stale=verdict.stale)
        elif verdict is DigestVerdict.MALFORMED:
            self._fail(incoming, now, user, StatusCode.BAD_REQUEST, "Malformed credentials")
        else:
            self._fail(incoming, now, user, StatusCode.FORBIDDEN, Refusal.FORBIDDEN)
        return None

    def _admit(self, incoming: IncomingRequest, extension: Extension) -> Extension | None:
        if extension.options.disabled:
            incoming.respond(StatusCode.FORBIDDEN, Refusal.DISABLED)
            return None
        if extension.options.lan_only and not self.directory.is_local(incoming.peer.host):
            incoming.respond(StatusCode.FORBIDDEN, Refusal.OUTSIDE_LAN)
            return None
        return extension

    def _fail(
        self, incoming: IncomingRequest, now: float, user: str, status: int, reason: str
    ) -> None:
        incoming.respond(status, reason)
        address = incoming.peer.host
        trusted = self.directory.is_trusted(address)
        block = self.throttle.record_failure(address, user, now, trusted=trusted)
        if block is None:
            return
        if block.trusted:
            log.info("trusted address paused after failed authentications", **_fields(block))
            return
        log.warning("blocked after failed authentications", **_fields(block))
        if self.on_block is not None:
            self.on_block(block)


def _user_key(username: str) -> str:
    """The throttle's name for a user: case-insensitive, as the directory looks it up."""
    return username.lower()[:64]


def _fields(block: Block) -> dict[str, object]:
    return {
        "address": block.address,
        "user": block.user,
        "failures": block.failures,
        "seconds": round(block.until - block.since),
    }
