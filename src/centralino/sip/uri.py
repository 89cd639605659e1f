"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and other schemes.

A :class:`Uri` holds the components *unescaped* (``%41`` becomes ``A``,
RFC 3261 §19.1.2) and escapes them again when formatted, so two spellings
of one URI parse to equal objects. Equality follows RFC 3261 §19.1.4, not
text: the host is case-insensitive, the user part is not, and some
parameters matter only when both sides carry them. URIs of schemes this
stack does not route (``http:``, ``urn:``, ``nobodyknowsthisscheme:``) are
kept whole in :attr:`Uri.opaque`; RFC 4475 §3.3.3 wants them parsed and
refused later with 416, not rejected by the parser.

:class:`NameAddress` (in :mod:`centralino.sip.address`) wraps a URI with a
display name and header parameters for From, To, Contact and Route.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from .errors import SipParseError
from .grammar import UNRESERVED, escape, unescape
from .memo import ParseMemo
from .parameters import Parameters

__all__ = ["SIP_SCHEMES", "Uri", "host_is_ip"]

SIP_SCHEMES = frozenset({"sip", "sips"})
_ESC = r"%[0-9A-Fa-f]{2}"
_USER_SAFE = UNRESERVED + "&=+$,;?/"
_PASSWORD_SAFE = UNRESERVED + "&=+$,"
_PARAM_SAFE = UNRESERVED + "[]/:&+$"
_HEADER_SAFE = UNRESERVED + "[]/?:+$"
# RFC 3261 §25.1: userinfo, hostport, uri-parameters and headers rules.
_SIP_URI_RE = re.compile(
    rf"(?:(?P<user>(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|{_ESC})+)"
    rf"(?::(?P<password>(?:[A-Za-z0-9\-_.!~*'()&=+$,]|{_ESC})*))?@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    rf"(?P<params>(?:;(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$=]|{_ESC})*)*)"
    rf"(?:\?(?P<headers>(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$=&]|{_ESC})*))?"
)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_OPAQUE_RE = re.compile(r"[A-Za-z0-9\-_.!~*'();/?:@&=+$,%\[\]#]+")
_PARAM_RE = re.compile(rf"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|{_ESC})+")
_HOSTNAME_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z0-9\-]+\.?")
_TEL_VISUAL = str.maketrans("", "", "-.()")
# RFC 3261 §19.1.4: these never match when present on one side only.
_MUST_MATCH_PARAMS = frozenset({"user", "ttl", "method", "maddr"})
# Request-URIs, From/To/Contact URIs repeat from message to message (memo.py).
_PARSED: ParseMemo[Uri] = ParseMemo(4096)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Uri:
    """A parsed URI. For ``tel:`` the number is :attr:`user`, host is empty."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    parameters: Parameters = field(default_factory=Parameters)
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> Uri:
        """Parse a URI from its textual form.

        Args:
            text: the URI, without surrounding ``<>`` or white space.

        Returns:
            The parsed URI.

        Raises:
            SipParseError: the text is not a valid URI (status 400).
        """
        known = _PARSED.get(text)
        if known is not None:
            return known
        return _PARSED.put(text, cls._parse(text))

    @classmethod
    def _parse(cls, text: str) -> Uri:
        scheme, colon, rest = text.partition(":")
        if not colon or _SCHEME_RE.fullmatch(scheme) is None or not rest:
            raise SipParseError(f"not a URI: {text!r}")
        scheme = scheme.lower()
        if scheme in SIP_SCHEMES:
            return _parse_sip(scheme, rest)
        if scheme == "tel":
            return _parse_tel(rest)
        if _OPAQUE_RE.fullmatch(rest) is None:
            raise SipParseError(f"bad characters in URI: {text!r}")
        return cls(scheme=scheme, opaque=rest)

    @property
    def is_sip(self) -> bool:
        """True for ``sip:`` and ``sips:`` URIs."""
        return self.scheme in SIP_SCHEMES

    @property
    def host_port(self) -> str:
        """The ``hostport`` text (host, plus ``:port`` when explicit)."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased, if any."""
        value = self.parameters.get("transport")
        return value.lower() if value else None

    @property
    def loose_route(self) -> bool:
        """True when the URI carries the ``lr`` flag (RFC 3261 §16.12)."""
        return "lr" in self.parameters

    def with_parameter(self, name: str, value: str | None = None) -> Uri:
        """Return a copy with the URI parameter ``name`` set to ``value``."""
        return replace(self, parameters=self.parameters.with_value(name, value))

    def without_parameter(self, name: str) -> Uri:
        """Return a copy without the URI parameter ``name``."""
        return replace(self, parameters=self.parameters.without(name))

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        if self.scheme == "tel":
            return f"tel:{self.user or ''}{_format_parameters(self.parameters)}"
        userinfo = ""
        if self.user is not None:
            userinfo = escape(self.user, _USER_SAFE)
            if self.password is not None:
                userinfo += ":" + escape(self.password, _PASSWORD_SAFE)
            userinfo += "@"
        text = f"{self.scheme}:{userinfo}{self.host_port}{_format_parameters(self.parameters)}"
        if self.headers:
            pairs = (
                f"{escape(n, _HEADER_SAFE)}={escape(v, _HEADER_SAFE)}" for n, v in self.headers
            )
            text += "?" + "&".join(pairs)
        return text

    def __repr__(self) -> str:
        return f"Uri({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True  # the memo hands the same object for the same text
        if not isinstance(other, Uri):
            return NotImplemented
        if self.scheme != other.scheme or self.opaque != other.opaque:
            return False
        if self.scheme == "tel":
            return _tel_key(self) == _tel_key(other) and self.parameters == other.parameters
        return (
            self.user == other.user
            and self.password == other.password
            and self.host.lower() == other.host.lower()
            and self.port == other.port
            and _parameters_match(self.parameters, other.parameters)
            and _header_key(self) == _header_key(other)
        )

    def __hash__(self) -> int:
        user = _tel_key(self) if self.scheme == "tel" else self.user
        return hash((self.scheme, user, self.host.lower(), self.port, self.opaque))


def _parse_sip(scheme: str, rest: str) -> Uri:
    match = _SIP_URI_RE.fullmatch(rest)
    if match is None:
        raise SipParseError(f"malformed {scheme} URI: {scheme}:{rest}")
    host = _check_host(match["host"])
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and port > 65535:
        raise SipParseError(f"port out of range in URI: {rest!r}")
    return Uri(
        scheme=scheme,
        user=unescape(match["user"]) if match["user"] is not None else None,
        password=unescape(match["password"]) if match["password"] is not None else None,
        host=host,
        port=port,
        parameters=_parse_parameters(match["params"]),
        headers=_parse_headers(match["headers"]),
    )


def _check_host(host: str) -> str:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise SipParseError(f"bad IPv6 reference {host!r}") from exc
        return host
    if _HOSTNAME_RE.fullmatch(host) is None:
        raise SipParseError(f"bad host {host!r}")
    return host


def _parse_parameters(text: str) -> Parameters:
    if not text:
        return Parameters()
    items: list[tuple[str, str | None]] = []
    for piece in text[1:].split(";"):
        name, equals, value = piece.partition("=")
        if _PARAM_RE.fullmatch(name) is None or (equals and _PARAM_RE.fullmatch(value) is None):
            raise SipParseError(f"bad URI parameter {piece!r}")
        items.append((unescape(name), unescape(value) if equals else None))
    return Parameters(items)


def _parse_headers(text: str | None) -> tuple[tuple[str, str], ...]:
    if text is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        name, equals, value = piece.partition("=")
        if not name or not equals:
            raise SipParseError(f"bad URI header {piece!r}")
        pairs.append((unescape(name), unescape(value)))
    return tuple(pairs)


def _parse_tel(rest: str) -> Uri:
    # RFC 3966 §3: telephone-subscriber, then ;-separated parameters.
    number, _, params = rest.partition(";")
    if not number or _OPAQUE_RE.fullmatch(rest) is None:
        raise SipParseError(f"malformed tel URI: tel:{rest}")
    parameters = _parse_parameters(";" + params) if params else Parameters()
    return Uri(scheme="tel", user=unescape(number), parameters=parameters)


def _format_parameters(parameters: Parameters) -> str:
    parts: list[str] = []
    for name, value in parameters:
        text = ";" + escape(name, _PARAM_SAFE)
        if value is not None:
            text += "=" + escape(value, _PARAM_SAFE)
        parts.append(text)
    return "".join(parts)


def _parameters_match(left: Parameters, right: Parameters) -> bool:
    left_map = {name.lower(): value for name, value in left}
    right_map = {name.lower(): value for name, value in right}
    for name in left_map.keys() | right_map.keys():
        if name in left_map and name in right_map:
            if (left_map[name] or "").lower() != (right_map[name] or "").lower():
                return False
        elif name in _MUST_MATCH_PARAMS:
            return False
    return True


def _header_key(uri: Uri) -> frozenset[tuple[str, str]]:
    return frozenset((name.lower(), value) for name, value in uri.headers)


def _tel_key(uri: Uri) -> str:
    # RFC 3966 §4: visual separators do not count when comparing numbers.
    return (uri.user or "").translate(_TEL_VISUAL).lower()


def host_is_ip(host: str) -> bool:
    """Tell whether a URI host is an IP literal rather than a domain name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
