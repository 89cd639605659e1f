"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).

Theory of operation
-------------------
A challenge (``WWW-Authenticate`` / ``Proxy-Authenticate``) carries a realm
and a server nonce; the client answers (``Authorization`` /
``Proxy-Authorization``) with ``response = H(HA1:nonce[:nc:cnonce:qop]:HA2)``
where ``HA1 = H(username:realm:password)`` and ``HA2 = H(method:uri)``.

* Parsing: :meth:`DigestChallenge.parse` and :meth:`DigestCredentials.parse`
  read one header value; ``str()`` writes it back.  Anything malformed raises
  :class:`DigestParseError` (the peer's fault: answer 400).
* Server nonces: :class:`NonceManager` issues nonces that carry their issue
  time and an HMAC, so they verify without a table.  Only nonces that were
  *used successfully* are remembered, with the highest nonce-count seen, so a
  replayed or lower ``nc`` is refused.  The table is bounded: entries leave
  when their nonce expires (``handle_timer``) or, when the table is full, the
  oldest is evicted and every unremembered nonce issued up to then turns
  stale, so eviction never re-opens a replay window.
* Without ``qop`` (RFC 2069 clients) there is no ``nc``: such a nonce is
  accepted once only; a second use is a replay and the client is sent a fresh
  nonce with ``stale=true`` (one extra round trip, no replay window).
* :func:`verify` turns credentials into a :class:`DigestVerdict` whose
  ``response_status`` tells the registrar to answer 401 (re-challenge,
  ``stale`` says with ``stale=true``), 403 (wrong password) or 400.
* Client side: :class:`DigestClient` answers a trunk's challenge, counting
  ``nc`` per nonce.

The module is pure: the current time ``now`` (float seconds) is an argument.
``userhash``, ``username*`` and SHA-512-256 (RFC 7616 §3.4.4, §4) are not
supported: SIP phones do not use them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from .errors import SipError, SipParseError

__all__ = [
    "DigestAlgorithm",
    "DigestChallenge",
    "DigestClient",
    "DigestCredentials",
    "DigestError",
    "DigestParseError",
    "DigestSecret",
    "DigestVerdict",
    "NonceManager",
    "NonceStatus",
    "Qop",
    "build_challenges",
    "choose_challenge",
    "compute_ha1",
    "compute_response",
    "verify",
]


class DigestError(SipError):
    """Base of every digest error."""


class DigestParseError(DigestError, SipParseError):
    """A header value is not a well-formed Digest challenge or credentials (400)."""


class DigestAlgorithm(Enum):
    """The ``algorithm`` parameter (RFC 7616 §3.3, RFC 8760 §2)."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA256 = "SHA-256"
    SHA256_SESS = "SHA-256-sess"

    # A member is a singleton compared by identity: hashing by identity (C)
    # is as correct as Enum's hash of the name (Python code), and cheaper for
    # the tables keyed by it, read on every authenticated request.
    __hash__ = object.__hash__

    @property
    def hash_name(self) -> str:
        """The hashlib name of the underlying hash."""
        return "md5" if self in (DigestAlgorithm.MD5, DigestAlgorithm.MD5_SESS) else "sha256"

    @property
    def is_session(self) -> bool:
        """True for the ``-sess`` variants, whose HA1 also covers nonce and cnonce."""
        return self.value.endswith("-sess")

    @classmethod
    def from_token(cls, token: str) -> DigestAlgorithm:
        """Look an algorithm up case-insensitively (RFC 7616 §3.3: tokens are)."""
        algorithm = _ALGORITHMS.get(token.lower())
        if algorithm is None:
            raise DigestParseError(f"unsupported digest algorithm {token!r}")
        return algorithm


_ALGORITHMS = {algorithm.value.lower(): algorithm for algorithm in DigestAlgorithm}


class Qop(Enum):
    """Quality of protection (RFC 7616 §3.3)."""

    AUTH = "auth"
    AUTH_INT = "auth-int"


# --- grammar (RFC 3261 §25.1, RFC 7235 §2.1) --------------------------------

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# qdtext excludes controls, '"' and '\'; quoted-pair escapes any char but CR/LF.
# Written as runs of qdtext between quoted-pairs ("unrolled"): the regular
# expression engine then loops over a run in one character class (twice as
# fast as one alternation per character) and cannot backtrack badly.
_QDTEXT = r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff]*"
_QUOTED = rf'"({_QDTEXT}(?:\\[\x00-\x09\x0b\x0c\x0e-\x7f]{_QDTEXT})*)"'
_AUTH_PARAM = re.compile(rf"[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:({_TOKEN})|{_QUOTED})[ \t]*")
_SCHEME = re.compile(r"[ \t]*Digest[ \t]+", re.IGNORECASE)
_SEPARATOR = re.compile(r"[ \t]*,")
_BLANK = re.compile(r"[ \t]*")
_NONCE_COUNT = re.compile(r"[0-9a-fA-F]{8}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UNESCAPE = re.compile(r"\\(.)")
# The spelling phones and SIPp use: name=value items separated by a comma
# and optional blanks, nothing else. One match per item (the general loop
# below needs two, plus its checks); anything unusual takes the general loop.
_PLAIN_ITEM = re.compile(rf"({_TOKEN})=(?:({_TOKEN})|{_QUOTED})[ \t]*(?:(,)[ \t]*|\Z)")


def _parse_params(value: str) -> dict[str, str]:
    """Split ``Digest a=b, c="d"`` into lower-cased names and unescaped values."""
    scheme = _SCHEME.match(value)
    if scheme is None:
        raise DigestParseError("not a Digest header value")
    plain = _parse_plain_params(value, scheme.end())
    return plain if plain is not None else _parse_general_params(value, scheme.end())


def _parse_plain_params(value: str, position: int) -> dict[str, str] | None:
    """The fast path of :func:`_parse_params`; None when the text is not plain.

    It accepts a subset of what the general loop accepts, with the same
    result, so falling back is always safe (and gives the exact error).
    """
    params: dict[str, str] = {}
    end = len(value)
    while position < end:
        item = _PLAIN_ITEM.match(value, position)
        if item is None:
            return None
        name, token, quoted, comma = item.groups()
        name = name.lower()
        if name in params:
            return None
        if token is None:
            token = _UNESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        params[name] = token
        position = item.end()
        if comma and position == end:
            return None  # a trailing comma: the general loop judges it
    return params


def _parse_general_params(value: str, position: int) -> dict[str, str]:
    """Every spelling RFC 7235 allows (empty list elements, blanks around '=')."""
    params: dict[str, str] = {}
    while position < len(value):
        # RFC 7230 §7: recipients accept empty list elements.
        separator = _SEPARATOR.match(value, position)
        if separator is not None:
            position = separator.end()
            continue
        param = _AUTH_PARAM.match(value, position)
        if param is None:
            raise DigestParseError(f"bad auth-param at offset {position}: {value[position:]!r}")
        name = param.group(1).lower()
        if name in params:
            raise DigestParseError(f"duplicate parameter {name!r}")
        token, quoted = param.group(2), param.group(3)
        params[name] = token if token is not None else _UNESCAPE.sub(r"\1", quoted)
        position = param.end()
        if position < len(value) and value[position] != ",":
            raise DigestParseError(f"expected ',' at offset {position}")
    return params


def _required(params: Mapping[str, str], name: str) -> str:
    if name not in params:
        raise DigestParseError(f"missing parameter {name!r}")
    return params[name]


def _quote(value: str) -> str:
    if any(char in value for char in "\r\n"):
        raise ValueError("a quoted-string cannot hold CR or LF")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestChallenge:
    """A ``WWW-Authenticate`` / ``Proxy-Authenticate`` Digest challenge."""

    realm: str
    nonce: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: tuple[Qop, ...] = (Qop.AUTH,)
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        """Parse a challenge header value.

        Args:
            value: the header value, starting with ``Digest``.

        Returns:
            The challenge; unknown qop values and parameters are ignored
            (RFC 7616 §3.3).

        Raises:
            DigestParseError: malformed, or an algorithm we cannot compute.
        """
        params = _parse_params(value)
        offered = [item.strip().lower() for item in params.get("qop", "").split(",")]
        return cls(
            realm=_required(params, "realm"),
            nonce=_required(params, "nonce"),
            algorithm=DigestAlgorithm.from_token(params.get("algorithm", "MD5")),
            qop=tuple(qop for qop in Qop if qop.value in offered),
            opaque=params.get("opaque"),
            stale=params.get("stale", "false").lower() == "true",
            domain=params.get("domain"),
        )

    def __str__(self) -> str:
        parts = [f"realm={_quote(self.realm)}"]
        if self.domain is not None:
            parts.append(f"domain={_quote(self.domain)}")
        parts.append(f"nonce={_quote(self.nonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        parts.append(f"algorithm={self.algorithm.value}")
        if self.qop:
            parts.append("qop=" + _quote(",".join(qop.value for qop in self.qop)))
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestCredentials:
    """An ``Authorization`` / ``Proxy-Authorization`` Digest answer."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: Qop | None = None
    nonce_count: int | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        """Parse a credentials header value.

        Args:
            value: the header value, starting with ``Digest``.

        Returns:
            The credentials.

        Raises:
            DigestParseError: malformed, missing a parameter, an unknown
                algorithm or qop, or an ``nc`` that is not 8 hex digits.
        """
        params = _parse_params(value)
        response = _required(params, "response")
        if _HEX.fullmatch(response) is None:
            raise DigestParseError("response is not hexadecimal")
        return cls(
            username=_required(params, "username"),
            realm=_required(params, "realm"),
            nonce=_required(params, "nonce"),
            uri=_required(params, "uri"),
            response=response.lower(),
            algorithm=DigestAlgorithm.from_token(params.get("algorithm", "MD5")),
            qop=_parse_qop(params.get("qop")),
            nonce_count=_parse_nonce_count(params.get("nc")),
            cnonce=params.get("cnonce"),
            opaque=params.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
            f"algorithm={self.algorithm.value}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        # RFC 7616 §3.4: qop and nc are sent as tokens, never quoted.
        if self.qop is not None:
            parts.append(f"qop={self.qop.value}")
        if self.nonce_count is not None:
            parts.append(f"nc={self.nonce_count:08x}")
        return "Digest " + ", ".join(parts)


def _parse_qop(value: str | None) -> Qop | None:
    if value is None:
        return None
    qop = _QOPS.get(value.lower())
    if qop is None:
        raise DigestParseError(f"unsupported qop {value!r}")
    return qop


_QOPS = {qop.value: qop for qop in Qop}


def _parse_nonce_count(value: str | None) -> int | None:
    if value is None:
        return None
    if _NONCE_COUNT.fullmatch(value) is None:
        raise DigestParseError(f"nc must be 8 hex digits, got {value!r}")
    return int(value, 16)


# --- the digest computation (RFC 7616 §3.4.1-3.4.3) --------------------------


# The constructors themselves: ``hashlib.new(name)`` looks the name up each time.
_HASHES = {
    DigestAlgorithm.MD5: hashlib.md5,
    DigestAlgorithm.MD5_SESS: hashlib.md5,
    DigestAlgorithm.SHA256: hashlib.sha256,
    DigestAlgorithm.SHA256_SESS: hashlib.sha256,
}


def _hash(algorithm: DigestAlgorithm, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def compute_ha1(algorithm: DigestAlgorithm, username: str, realm: str, password: str) -> str:
    """Compute the storable ``H(username:realm:password)``.

    Args:
        algorithm: the algorithm; ``-sess`` variants share their base's HA1.
        username: the authentication user name.
        realm: the realm.
        password: the SIP secret.

    Returns:
        The lower-case hex digest.
    """
    return _hash(algorithm, f"{username}:{realm}:{password}")


def compute_response(
    *,
    algorithm: DigestAlgorithm,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: Qop | None = None,
    nonce_count: int | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """Compute the ``response`` parameter from a stored HA1.

    Args:
        algorithm: the digest algorithm.
        ha1: ``H(username:realm:password)`` for the algorithm's hash.
        nonce: the server nonce.
        method: the SIP request method.
        uri: the ``uri`` parameter (the digest-uri, RFC 3261 §22.4).
        qop: the quality of protection, or None for the RFC 2069 form.
        nonce_count: ``nc``, required with qop.
        cnonce: the client nonce, required with qop or a ``-sess`` algorithm.
        body: the message body, hashed for ``auth-int``.

    Returns:
        The lower-case hex response.

    Raises:
        ValueError: qop or ``-sess`` without nc / cnonce.
    """
    if algorithm.is_session:
        if cnonce is None:
            raise ValueError("a -sess algorithm needs a cnonce")
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if qop is Qop.AUTH_INT:
        a2 += ":" + _HASHES[algorithm](body).hexdigest()
    ha2 = _hash(algorithm, a2)
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    if nonce_count is None or cnonce is None:
        raise ValueError("qop needs nc and cnonce")
    return _hash(algorithm, f"{ha1}:{nonce}:{nonce_count:08x}:{cnonce}:{qop.value}:{ha2}")


# --- server nonces -----------------------------------------------------------


class NonceStatus(Enum):
    """What a :class:`NonceManager` thinks of a nonce and its count."""

    VALID = "valid"
    STALE = "stale"
    INVALID = "invalid"
    REPLAY = "replay"

    __hash__ = object.__hash__  # as DigestAlgorithm's


_RANDOM_SIZE = 12
_MAC_SIZE = 16
_TIME_SIZE = 8
_NONCE_SIZE = _TIME_SIZE + _RANDOM_SIZE + _MAC_SIZE
_NO_COUNT = 0  # nc starts at 1, so 0 marks "used once without qop"


@dataclass(slots=True)
class _Seen:
    issued_ms: int
    highest_count: int


class NonceManager:
    """Issues HMAC-signed nonces and remembers nonce-counts to stop replays.

    A nonce is ``base64url(issued_ms | random | MAC)``, the MAC being keyed
    BLAKE2s (RFC 7693 §2.9: BLAKE2 with a key is a MAC; a third of the cost
    of HMAC-SHA256 here) over the rest, 16 bytes.
    The HMAC may also cover a *scope* (e.g. the address the challenge was sent
    to): the nonce is then ours only when returned with the same scope, so a
    sender who never received the challenge cannot use it (a forged source).
    """

    def __init__(
        self,
        *,
        secret: bytes,
        lifetime: float = 300.0,
        max_entries: int = 10_000,
        clock_skew: float = 5.0,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the nonce secret must be at least 16 bytes")
        if lifetime <= 0 or max_entries <= 0:
            raise ValueError("lifetime and max_entries must be positive")
        # BLAKE2s takes a key of 32 bytes at most: a longer secret is hashed down.
        self._mac_key = secret if len(secret) <= 32 else hashlib.blake2s(secret).digest()
        self._lifetime_ms = int(lifetime * 1000)
        self._max_entries = max_entries
        self._skew_ms = int(clock_skew * 1000)
        self._seen: dict[str, _Seen] = {}
        self._expiries: list[tuple[int, str]] = []
        self._evicted_up_to_ms: int | None = None
        self._last_issued: tuple[str, str, int] | None = None

    @property
    def lifetime(self) -> float:
        """How long, in seconds, an issued nonce stays valid."""
        return self._lifetime_ms / 1000

    def issue(self, now: float, scope: str = "") -> str:
        """Make a fresh nonce.

        Args:
            now: the current time in seconds.
            scope: what the nonce is bound to (checked with the same scope).

        Returns:
            The nonce, URL-safe base64 without padding.
        """
        body = int(now * 1000).to_bytes(_TIME_SIZE, "big", signed=True)
        body += secrets.token_bytes(_RANDOM_SIZE)
        return _encode(body + self._mac(body, scope))

    def check(
        self, nonce: str, nonce_count: int | None, now: float, scope: str = ""
    ) -> NonceStatus:
        """Judge a nonce and count without remembering anything.

        Args:
            nonce: the nonce the client returned.
            nonce_count: its ``nc``, or None without qop.
            now: the current time in seconds.
            scope: the scope it must have been issued with.

        Returns:
            INVALID (not ours), STALE (expired, or forgotten after eviction),
            REPLAY (count not above the highest accepted) or VALID.
        """
        issued_ms = self._issued_ms(nonce, scope)
        if issued_ms is None:
            return NonceStatus.INVALID
        age_ms = int(now * 1000) - issued_ms
        if age_ms > self._lifetime_ms or age_ms < -self._skew_ms:
            return NonceStatus.STALE
        seen = self._seen.get(nonce)
        if seen is None:
            return NonceStatus.STALE if self._forgotten(issued_ms) else NonceStatus.VALID
        count = _NO_COUNT if nonce_count is None else nonce_count
        return NonceStatus.REPLAY if count <= seen.highest_count else NonceStatus.VALID

    def commit(self, nonce: str, nonce_count: int | None, now: float, scope: str = "") -> None:
        """Remember that ``nonce`` was accepted with ``nonce_count``.

        Call only after :meth:`check` said VALID *and* the response verified,
        so a forger cannot burn a client's counts.

        Args:
            nonce: the accepted nonce.
            nonce_count: its ``nc``, or None without qop.
            now: the current time in seconds.
            scope: the scope it was issued with.
        """
        issued_ms = self._issued_ms(nonce, scope)
        if issued_ms is None:
            return
        count = _NO_COUNT if nonce_count is None else nonce_count
        seen = self._seen.get(nonce)
        if seen is not None:
            seen.highest_count = max(seen.highest_count, count)
            return
        self.handle_timer(now)
        while len(self._seen) >= self._max_entries:
            self._evict_oldest()
        self._seen[nonce] = _Seen(issued_ms=issued_ms, highest_count=count)
        heapq.heappush(self._expiries, (issued_ms + self._lifetime_ms, nonce))

    def get_timer(self) -> float | None:
        """Return when the oldest remembered nonce expires, or None."""
        return self._expiries[0][0] / 1000 if self._expiries else None

    def handle_timer(self, now: float) -> None:
        """Forget nonces that expired by ``now`` (they are stale anyway).

        Args:
            now: the current time in seconds.
        """
        now_ms = int(now * 1000)
        while self._expiries and self._expiries[0][0] < now_ms:
            _, nonce = heapq.heappop(self._expiries)
            self._seen.pop(nonce, None)

    def __len__(self) -> int:
        return len(self._seen)

    def _evict_oldest(self) -> None:
        _, nonce = heapq.heappop(self._expiries)
        issued_ms = self._seen.pop(nonce).issued_ms
        if not self._forgotten(issued_ms):
            self._evicted_up_to_ms = issued_ms

    def _forgotten(self, issued_ms: int) -> bool:
        # After an eviction we cannot tell "never used" from "evicted", so
        # every nonce issued up to the evicted one is treated as stale.
        evicted = self._evicted_up_to_ms
        return evicted is not None and issued_ms <= evicted

    def _mac(self, body: bytes, scope: str) -> bytes:
        # The body has a fixed size, so body + scope is unambiguous.
        message = body + scope.encode()
        return hashlib.blake2s(message, key=self._mac_key, digest_size=_MAC_SIZE).digest()

    def _issued_ms(self, nonce: str, scope: str) -> int | None:
        last = self._last_issued
        if last is not None and last[0] == nonce and last[1] == scope:
            return last[2]  # check() then commit() of the same credentials: one MAC
        issued = self._decode_issued_ms(nonce, scope)
        if issued is not None:
            self._last_issued = (nonce, scope, issued)
        return issued

    def _decode_issued_ms(self, nonce: str, scope: str) -> int | None:
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        # Only the canonical spelling: b64decode skips stray characters.
        if len(raw) != _NONCE_SIZE or _encode(raw) != nonce:
            return None
        body, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
        if not hmac.compare_digest(mac, self._mac(body, scope)):
            return None
        return int.from_bytes(body[:_TIME_SIZE], "big", signed=True)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# --- challenges and verification ---------------------------------------------


def build_challenges(
    *,
    realm: str,
    nonce: str,
    algorithms: Iterable[DigestAlgorithm] = (DigestAlgorithm.SHA256, DigestAlgorithm.MD5),
    opaque: str | None = None,
    stale: bool = False,
) -> list[DigestChallenge]:
    """Build one challenge per algorithm, to be sent as separate headers.

    RFC 8760 §2.3: a server offering several algorithms sends one header per
    algorithm, most preferred first; clients use the first they support.

    Args:
        realm: the realm (RFC 3261 §22.1: usually the domain).
        nonce: a nonce from :meth:`NonceManager.issue`.
        algorithms: algorithms in preference order.
        opaque: an optional opaque value echoed by the client.
        stale: True to tell the client its password was right but the nonce old.

    Returns:
        The challenges, all with ``qop="auth"``.
    """
    return [
        DigestChallenge(realm=realm, nonce=nonce, algorithm=algorithm, opaque=opaque, stale=stale)
        for algorithm in algorithms
    ]


def choose_challenge(values: Iterable[str]) -> DigestChallenge | None:
    """Pick the first challenge we can answer (RFC 8760 §2.4, RFC 7616 §3.7).

    Args:
        values: ``WWW-Authenticate`` / ``Proxy-Authenticate`` values in order.

    Returns:
        The first parseable Digest challenge with a supported algorithm, or None.
    """
    for value in values:
        try:
            return DigestChallenge.parse(value)
        except DigestParseError:
            continue
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSecret:
    """What the server knows about an account: the password or per-hash HA1s.

    Storing only HA1 values means the database never holds the password, but
    then an HA1 must exist for every hash the server offers.
    """

    password: str | None = None
    md5_ha1: str | None = None
    sha256_ha1: str | None = None

    @classmethod
    def precompute(cls, username: str, realm: str, password: str) -> DigestSecret:
        """Derive the storable HA1 values (no password kept).

        Args:
            username: the authentication user name.
            realm: the realm.
            password: the SIP secret.

        Returns:
            A secret holding the MD5 and SHA-256 HA1.
        """
        return cls(
            md5_ha1=compute_ha1(DigestAlgorithm.MD5, username, realm, password),
            sha256_ha1=compute_ha1(DigestAlgorithm.SHA256, username, realm, password),
        )

    def ha1(self, algorithm: DigestAlgorithm, username: str, realm: str) -> str | None:
        """Return the HA1 for the algorithm's hash, or None if unknown.

        Args:
            algorithm: the algorithm the client used.
            username: the user name from the credentials.
            realm: the realm.

        Returns:
            The HA1 hex digest, or None.
        """
        if self.password is not None:
            return compute_ha1(algorithm, username, realm, self.password)
        stored = self.md5_ha1 if algorithm.hash_name == "md5" else self.sha256_ha1
        return stored.lower() if stored is not None else None


class DigestVerdict(Enum):
    """The outcome of :func:`verify` and the SIP status it calls for."""

    OK = "ok"
    STALE = "stale"
    REPLAY = "replay"
    BAD_NONCE = "bad-nonce"
    REALM_MISMATCH = "realm-mismatch"
    BAD_RESPONSE = "bad-response"
    USERNAME_MISMATCH = "username-mismatch"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    MALFORMED = "malformed"

    __hash__ = object.__hash__  # as DigestAlgorithm's

    @property
    def response_status(self) -> int | None:
        """None when authenticated, else the SIP status to answer with."""
        return _VERDICT_STATUS[self]

    @property
    def stale(self) -> bool:
        """True when the 401's challenge should carry ``stale=true``.

        The client proved the password, so it may retry without asking the
        user (RFC 7616 §3.3).
        """
        return self in (DigestVerdict.STALE, DigestVerdict.REPLAY)


# 401 re-challenges (a fresh nonce may fix it); 403 refuses (the password or
# identity is wrong, re-challenging would invite guessing); 400 is a bad request.
_VERDICT_STATUS: dict[DigestVerdict, int | None] = {
    DigestVerdict.OK: None,
    DigestVerdict.STALE: 401,
    DigestVerdict.REPLAY: 401,
    DigestVerdict.BAD_NONCE: 401,
    DigestVerdict.REALM_MISMATCH: 401,
    DigestVerdict.BAD_RESPONSE: 403,
    DigestVerdict.USERNAME_MISMATCH: 403,
    DigestVerdict.UNSUPPORTED_ALGORITHM: 403,
    DigestVerdict.MALFORMED: 400,
}

_NONCE_VERDICT = {
    NonceStatus.STALE: DigestVerdict.STALE,
    NonceStatus.REPLAY: DigestVerdict.REPLAY,
}


def _well_formed(credentials: DigestCredentials) -> bool:
    # RFC 7616 §3.4: cnonce and nc go with qop, and only with it.
    with_qop = credentials.qop is not None
    if with_qop != (credentials.nonce_count is not None):
        return False
    if credentials.algorithm.is_session and credentials.cnonce is None:
        return False
    return not with_qop or credentials.cnonce is not None


def verify(
    credentials: DigestCredentials,
    *,
    method: str,
    realm: str,
    secret: DigestSecret,
    nonces: NonceManager,
    now: float,
    username: str | None = None,
    body: bytes = b"",
    nonce_scope: str = "",
) -> DigestVerdict:
    """Check credentials against an account, consuming the nonce-count on success.

    Args:
        credentials: the parsed ``Authorization`` value.
        method: the request method (HA2 covers it).
        realm: our realm.
        secret: the account's password or HA1 values.
        nonces: the nonce manager that issued the challenge.
        now: the current time in seconds.
        username: the expected user name, if the caller already chose an account.
        body: the request body, for ``qop=auth-int``.
        nonce_scope: the scope the nonce must have been issued with (a
            nonce of another scope is BAD_NONCE).

    Returns:
        The verdict; STALE and REPLAY are only returned when the response was
        right (RFC 2617 §3.2.1: stale only for a valid digest).  ``opaque`` is
        not checked: our nonces authenticate themselves.
    """
    if not _well_formed(credentials):
        return DigestVerdict.MALFORMED
    if credentials.realm != realm:
        return DigestVerdict.REALM_MISMATCH
    if username is not None and credentials.username != username:
        return DigestVerdict.USERNAME_MISMATCH
    status = nonces.check(credentials.nonce, credentials.nonce_count, now, nonce_scope)
    if status is NonceStatus.INVALID:
        return DigestVerdict.BAD_NONCE
    ha1 = secret.ha1(credentials.algorithm, credentials.username, realm)
    if ha1 is None:
        return DigestVerdict.UNSUPPORTED_ALGORITHM
    if not _response_matches(credentials, ha1, method, body):
        return DigestVerdict.BAD_RESPONSE
    if status is not NonceStatus.VALID:
        return _NONCE_VERDICT[status]
    nonces.commit(credentials.nonce, credentials.nonce_count, now, nonce_scope)
    return DigestVerdict.OK


def _response_matches(credentials: DigestCredentials, ha1: str, method: str, body: bytes) -> bool:
    expected = compute_response(
        algorithm=credentials.algorithm,
        ha1=ha1,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        qop=credentials.qop,
        nonce_count=credentials.nonce_count,
        cnonce=credentials.cnonce,
        body=body,
    )
    return hmac.compare_digest(expected.encode("ascii"), credentials.response.encode("ascii"))


# --- client side -------------------------------------------------------------


class DigestClient:
    """Answers challenges for one account, counting ``nc`` per nonce.

    Used when Centralino registers to, or calls through, a SIP trunk.
    """

    def __init__(self, *, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._counts: dict[str, int] = {}

    def authorize(
        self,
        challenge: DigestChallenge,
        *,
        method: str,
        uri: str,
        body: bytes = b"",
        cnonce: str | None = None,
    ) -> DigestCredentials:
        """Build the credentials answering ``challenge``.

        Args:
            challenge: the parsed challenge.
            method: the request method.
            uri: the Request-URI as a string (RFC 3261 §22.4: the digest-uri).
            body: the request body, hashed when only ``auth-int`` is offered.
            cnonce: the client nonce; random when None.

        Returns:
            Credentials; ``str()`` gives the header value.
        """
        qop = _client_qop(challenge.qop)
        count = self._next_count(challenge.nonce) if qop is not None else None
        if qop is not None or challenge.algorithm.is_session:
            cnonce = cnonce or secrets.token_hex(8)
        else:
            cnonce = None
        ha1 = compute_ha1(challenge.algorithm, self.username, challenge.realm, self._password)
        response = compute_response(
            algorithm=challenge.algorithm,
            ha1=ha1,
            nonce=challenge.nonce,
            method=method,
            uri=uri,
            qop=qop,
            nonce_count=count,
            cnonce=cnonce,
            body=body,
        )
        return DigestCredentials(
            username=self.username,
            realm=challenge.realm,
            nonce=challenge.nonce,
            uri=uri,
            response=response,
            algorithm=challenge.algorithm,
            qop=qop,
            nonce_count=count,
            cnonce=cnonce,
            opaque=challenge.opaque,
        )

    def _next_count(self, nonce: str) -> int:
        # Only the latest nonce matters: a new challenge replaces the old one.
        count = self._counts.get(nonce, 0) + 1
        self._counts = {nonce: count}
        return count


def _client_qop(offered: tuple[Qop, ...]) -> Qop | None:
    if Qop.AUTH in offered:
        return Qop.AUTH
    return Qop.AUTH_INT if Qop.AUTH_INT in offered else None
