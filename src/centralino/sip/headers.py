"""Header fields: an ordered, case-insensitive, multi-valued collection.

:class:`Headers` keeps every field line as received (original spelling and
order) because order is meaningful for Via, Route and Record-Route
(RFC 3261 §7.3.1) and because proxies forward unknown fields untouched.
Look-ups fold case and map compact forms (``v`` is Via, ``m`` Contact...,
RFC 3261 §7.3.3) to the full names. The collection is immutable: the
``with_*`` methods return new collections.

Only fields whose grammar is a comma list are split on commas
(:data:`LIST_HEADERS`); splitting ``WWW-Authenticate`` or ``Date`` would
break them. Typed accessors parse on demand and raise
:class:`~centralino.sip.errors.SipParseError` on a malformed value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from .address import NameAddress, format_header_parameters, parse_header_parameters
from .errors import SipParseError
from .grammar import TOKEN, WORD, is_token, split_outside, strip_lws
from .memo import ParseMemo
from .parameters import Parameters
from .uri import host_is_ip

__all__ = [
    "COMPACT_FORMS",
    "LIST_HEADERS",
    "MAGIC_COOKIE",
    "CSeq",
    "ContactStar",
    "Headers",
    "Via",
    "canonical_name",
]

COMPACT_FORMS = {
    "a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
    "e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact",
    "k": "supported", "l": "content-length", "m": "contact", "n": "identity-info",
    "o": "event", "r": "refer-to", "s": "subject", "t": "to", "u": "allow-events",
    "v": "via", "x": "session-expires", "y": "identity",
}  # fmt: skip
LIST_HEADERS = frozenset({
    "via", "contact", "route", "record-route", "path", "service-route", "allow", "supported",
    "require", "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
    "content-encoding", "content-language", "allow-events", "in-reply-to", "error-info",
    "call-info", "alert-info", "warning", "p-asserted-identity", "history-info",
})  # fmt: skip
# RFC 3261 §8.1.1.7: branches of compliant elements start with this cookie.
MAGIC_COOKIE = "z9hG4bK"
_LWS = " \t\r\n"  # grammar.strip_lws's characters
MAX_CSEQ = 2**31 - 1  # RFC 3261 §8.1.1.5
MAX_DELTA_SECONDS = 2**32 - 1  # RFC 3261 §20.19 / RFC 4475 §3.1.2.4
_CALL_ID_RE = re.compile(rf"{WORD}(?:@{WORD})?")  # callid, RFC 3261 §25.1
_CSEQ_RE = re.compile(rf"([0-9]{{1,10}})[ \t]+({TOKEN})")
_VIA_RE = re.compile(
    rf"(?P<protocol>{TOKEN})\s*/\s*(?P<version>{TOKEN})\s*/\s*(?P<transport>{TOKEN})\s+"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:\s*:\s*(?P<port>[0-9]{1,5}))?"
    r"(?P<params>\s*;.*)?",
    re.DOTALL,
)
# A Via text comes back: in the responses to a request (our own Via, as we
# sent it) and in the ACK of a non-2xx final response (same branch, §17.1.1.3).
_PARSED_VIAS: ParseMemo[Via] = ParseMemo(4096)


# Header names already seen to be tokens, with their canonical names: the
# same dozen names arrive in every message, so the token check and the
# folding run once per spelling (bounded: names come from the network).
_FIELD_NAMES: dict[str, str] = {}
_FIELD_NAMES_SIZE = 4096

_CANONICAL_CACHE: dict[str, str] = {}
_CANONICAL_CACHE_SIZE = 4096  # names come from the network: keep the memo bounded


def canonical_name(name: str) -> str:
    """Return the lower-case full name of a header field (compact forms expanded)."""
    known = _CANONICAL_CACHE.get(name)
    if known is not None:
        return known
    folded = name.lower()
    canonical = COMPACT_FORMS.get(folded, folded)
    if len(_CANONICAL_CACHE) < _CANONICAL_CACHE_SIZE:
        _CANONICAL_CACHE[name] = canonical
    return canonical


def _new_field_name(name: str) -> str | None:
    """The canonical name of a field name not seen before; None: not a token."""
    if not is_token(name):
        return None
    canonical = canonical_name(name)
    if len(_FIELD_NAMES) < _FIELD_NAMES_SIZE:
        _FIELD_NAMES[name] = canonical
    return canonical


def parse_integer(text: str, name: str, limit: int) -> int:
    """Parse a ``1*DIGIT`` field value no larger than ``limit``.

    Args:
        text: the field value.
        name: the field name, for the error message.
        limit: the largest legal value.

    Returns:
        The value.

    Raises:
        SipParseError: not digits, or larger than ``limit``.
    """
    text = text.strip(_LWS)
    # 1*DIGIT, at most ten: ASCII only (str.isdigit alone takes other
    # scripts' digits and superscripts, which int() may refuse).
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise SipParseError(f"bad {name} value {text!r}")
    value = int(text)
    if value > limit:
        raise SipParseError(f"bad {name} value {text!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Via:
    """One Via field value (RFC 3261 §20.42, RFC 3581 rport)."""

    transport: str
    host: str
    port: int | None = None
    parameters: Parameters = field(default_factory=Parameters)
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one via-parm.

        Args:
            text: one comma-separated element of a Via field.

        Returns:
            The parsed Via.

        Raises:
            SipParseError: malformed value or parameter.
        """
        known = _PARSED_VIAS.get(text)
        if known is not None:
            return known
        match = _VIA_RE.fullmatch(strip_lws(text))
        if match is None:
            raise SipParseError(f"malformed Via {text!r}")
        protocol, version, transport, host, port_text, parameters = match.groups()
        port = int(port_text) if port_text else None
        if port is not None and port > 65535:
            raise SipParseError(f"Via port out of range in {text!r}")
        via = cls(
            protocol=f"{protocol}/{version}".upper(),
            transport=transport.upper(),
            host=host,
            port=port,
            parameters=parse_header_parameters(parameters or ""),
        )
        via.check()
        return _PARSED_VIAS.put(text, via)

    def check(self) -> None:
        """Validate the parameters with a defined grammar.

        Raises:
            SipParseError: a bad received, rport, ttl or an empty branch.
        """
        parameters = self.parameters
        names = parameters.names()  # one pass; a Via mostly has branch and rport alone
        if "received" in names:
            received = parameters.get("received")
            if not (received and host_is_ip(received)):
                raise SipParseError(f"bad Via received {received!r}")
        if "rport" in names:
            rport = parameters.get("rport")
            if rport is not None:
                parse_integer(rport, "Via rport", 65535)
        if "ttl" in names:
            parse_integer(parameters.get("ttl") or "", "Via ttl", 255)
        if "branch" in names and not parameters.get("branch"):
            raise SipParseError("empty Via branch")

    @property
    def branch(self) -> str | None:
        """The branch parameter (the transaction identifier, §17)."""
        return self.parameters.get("branch")

    @property
    def is_rfc3261_branch(self) -> bool:
        """True when the branch starts with the magic cookie (§8.1.1.7)."""
        return (self.branch or "").startswith(MAGIC_COOKIE)

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (RFC 3261 §18.2.1)."""
        return self.parameters.get("received")

    @property
    def rport(self) -> int | None:
        """The ``rport`` value filled in by a server (RFC 3581), else None."""
        value = self.parameters.get("rport")
        return int(value) if value else None

    @property
    def wants_rport(self) -> bool:
        """True when the client asked for symmetric response routing (RFC 3581 §3)."""
        return "rport" in self.parameters

    @property
    def sent_by(self) -> str:
        """The ``sent-by`` text, lower-cased host with an explicit or default port."""
        port = self.port if self.port is not None else (5061 if self.transport == "TLS" else 5060)
        return f"{self.host.lower()}:{port}"

    def with_parameter(self, name: str, value: str | None) -> Via:
        """Return a copy with parameter ``name`` set (e.g. received, rport)."""
        return self.with_parameters(((name, value),))

    def with_parameters(self, values: Iterable[tuple[str, str | None]]) -> Via:
        """Return a copy with each ``(name, value)`` set, in one copy."""
        return Via(
            protocol=self.protocol,
            transport=self.transport,
            host=self.host,
            port=self.port,
            parameters=self.parameters.with_values(values),
        )

    def __str__(self) -> str:
        host = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.protocol}/{self.transport} {host}{format_header_parameters(self.parameters)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CSeq:
    """The CSeq field: a sequence number and a method (RFC 3261 §20.16)."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse ``1*DIGIT LWS Method``.

        Raises:
            SipParseError: malformed, or the number exceeds 2**31 - 1.
        """
        match = _CSEQ_RE.fullmatch(text.strip(_LWS))
        if match is None:
            raise SipParseError(f"bad CSeq {text!r}")
        number = int(match[1])
        if number > MAX_CSEQ:
            raise SipParseError(f"bad CSeq {text!r}")
        return cls(number=number, method=match[2])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@dataclass(frozen=True, slots=True)
class ContactStar:
    """The ``Contact: *`` wildcard of a REGISTER removing all bindings (§10.2.2)."""


class Headers:
    """Ordered header fields; look-ups are case-insensitive, compact-form aware."""

    __slots__ = ("_fields", "_lookup", "_parsed")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: tuple[tuple[str, str], ...] = tuple(fields)
        self._lookup: dict[str, list[str]] | None = None  # built on first look-up
        # Typed values parsed once (the collection is immutable): a request's
        # Via, CSeq, From... are read by validation, transactions and handlers.
        self._parsed: dict[str, object] = {}

    @classmethod
    def parse(cls, lines: Sequence[str]) -> Headers:
        """Read unfolded ``name: value`` field lines (RFC 3261 §7.3.1).

        The look-up table is filled in the same pass: every message is
        looked at by validation right after.

        Args:
            lines: the header section's lines, unfolded, without the start line.

        Returns:
            The fields, values stripped of surrounding white space.

        Raises:
            SipParseError: a line without a colon or with a name that is no token.
        """
        fields: list[tuple[str, str]] = []
        table: dict[str, list[str]] = {}
        known_names = _FIELD_NAMES
        for line in lines:
            name, colon, value = line.partition(":")
            name = name.rstrip(" \t")
            key = known_names.get(name) if colon else None
            if key is None and (not colon or (key := _new_field_name(name)) is None):
                raise SipParseError(f"malformed header line {line[:40]!r}")
            value = value.strip(_LWS)  # strip_lws, inlined: a dozen lines a message
            fields.append((name, value))
            known = table.get(key)
            if known is None:
                table[key] = [value]
            else:
                known.append(value)
        headers = cls(fields)
        headers._lookup = table
        return headers

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lines(name) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(self._canonical())

    def __repr__(self) -> str:
        return f"Headers({list(self._fields)!r})"

    def _canonical(self) -> tuple[tuple[str, str], ...]:
        return tuple((canonical_name(name), value) for name, value in self._fields)

    def get(self, name: str) -> str | None:
        """Return the value of the first field called ``name``, or None."""
        values = self._lines(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """Return the value of every field line called ``name``, in order."""
        values = self._lines(name)
        return list(values) if values else []

    def _lines(self, name: str) -> list[str] | None:
        """The field lines called ``name``, or None: every look-up goes here.

        A message is looked at some thirty times on its way through
        validation, the transaction layer and a handler, so this path is
        kept short: callers mostly pass the canonical name ("via", "cseq"),
        which is tried as is before folding case and expanding compact
        forms. A key of the table is its own canonical name, so a hit is
        exact.
        """
        table = self._lookup
        if table is None:
            table = self._lookup = {}
            for key, value in self._fields:
                table.setdefault(canonical_name(key), []).append(value)
        values = table.get(name)
        if values is None:
            values = table.get(canonical_name(name))
        return values

    def by_name(self) -> Mapping[str, list[str]]:
        """Every field's lines by canonical name (do not modify the lists).

        For a caller that looks at many fields at once (validation): one
        table instead of one look-up per question.
        """
        self._lines("via")
        assert self._lookup is not None
        return self._lookup

    def _optional_single(self, name: str) -> str | None:
        """The only value of ``name``, None when absent (raises when repeated)."""
        values = self._lines(name)
        if values is None:
            return None
        if len(values) != 1:
            raise SipParseError(f"repeated {canonical_name(name)} header")
        return values[0]

    def values(self, name: str) -> list[str]:
        """Return the elements of a list field, comma-split across lines.

        Raises:
            SipParseError: unbalanced quotes or brackets in a value.
        """
        lines = self.get_all(name)
        if canonical_name(name) not in LIST_HEADERS:
            return lines
        out = [strip_lws(p) for line in lines for p in split_outside(line, ",")]
        return [piece for piece in out if piece]

    def with_appended(self, name: str, value: str) -> Headers:
        """Return a copy with a field line added at the end."""
        return Headers((*self._fields, (name, value)))

    def with_prepended(self, name: str, value: str) -> Headers:
        """Return a copy with a field line put first (e.g. a new top Via)."""
        return Headers(((name, value), *self._fields))

    def without(self, name: str) -> Headers:
        """Return a copy without any field called ``name``."""
        wanted = canonical_name(name)
        return Headers(item for item in self._fields if canonical_name(item[0]) != wanted)

    def with_replaced(self, name: str, value: str) -> Headers:
        """Return a copy where ``name`` has exactly one line, at its first position."""
        wanted = canonical_name(name)
        out: list[tuple[str, str]] = []
        placed = False
        for key, old in self._fields:
            if canonical_name(key) != wanted:
                out.append((key, old))
            elif not placed:
                out.append((key, value))
                placed = True
        if not placed:
            out.append((name, value))
        return Headers(out)

    def without_first_value(self, name: str) -> Headers:
        """Return a copy without the first element of a list field (e.g. top Via)."""
        wanted = canonical_name(name)
        for index, (key, value) in enumerate(self._fields):
            if canonical_name(key) == wanted:
                rest = [strip_lws(p) for p in split_outside(value, ",")][1:]
                fields = list(self._fields)
                fields[index : index + 1] = [(key, ", ".join(rest))] if rest else []
                return Headers(fields)
        return self

    # Typed accessors -------------------------------------------------------

    def with_top_via(self, via: Via) -> Headers:
        """Return a copy whose top Via is ``via`` (values parsed so far kept).

        The new Via gets a line of its own, first; the old top value leaves
        its line (the line goes when it held nothing else).
        """
        if "via" not in self:
            return self
        top = str(via)
        fields = [("Via", top)]
        replaced = False
        kept: list[str] = []  # what is left of the old top Via's line
        for key, value in self._fields:
            if not replaced and canonical_name(key) == "via":
                replaced = True
                if "," in value:
                    rest = [strip_lws(p) for p in split_outside(value, ",")][1:]
                    if rest:
                        kept.append(", ".join(rest))
                        fields.append((key, kept[0]))
                continue
            fields.append((key, value))
        headers = Headers(fields)
        if self._lookup is not None:  # the same table, but for the Via lines
            headers._lookup = {**self._lookup, "via": [top, *kept, *self._lookup["via"][1:]]}
        headers._parsed.update(self._parsed)
        headers._parsed["top-via"] = via
        every = cast("tuple[Via, ...] | None", self._parsed.get("via"))
        if every is not None:
            headers._parsed["via"] = (via, *every[1:])
        return headers

    def top_via(self) -> Via:
        """Return the top Via alone, parsing no other (RFC 3261 §18.2.2).

        Validation, transaction matching and the received/rport stamp read
        only the top Via; the others are copied to responses as text.

        Raises:
            SipParseError: no Via, or the top one is malformed.
        """
        parsed = self._parsed.get("top-via")
        if parsed is None:
            every = self._parsed.get("via")
            if every is not None:
                parsed = cast(tuple[Via, ...], every)[0] if every else None
            else:
                parsed = _first_via(self._lines("via"))
            if parsed is None:
                raise SipParseError("Missing via header(s)")
            self._parsed["top-via"] = parsed
        return cast(Via, parsed)

    def vias(self) -> list[Via]:
        """Return every Via, top first (RFC 3261 §20.42)."""
        parsed = self._parsed.get("via")
        if parsed is None:
            parsed = self._parsed["via"] = tuple(Via.parse(v) for v in self.values("via"))
        return list(cast(tuple[Via, ...], parsed))

    def cseq(self) -> CSeq:
        """Return the CSeq (raises SipParseError when missing or repeated)."""
        parsed = self._parsed.get("cseq")
        if parsed is None:
            parsed = self._parsed["cseq"] = CSeq.parse(self.single("cseq"))
        return cast(CSeq, parsed)

    def call_id(self) -> str:
        """Return the Call-ID (RFC 3261 §20.8)."""
        parsed = self._parsed.get("call-id")
        if parsed is None:
            value = strip_lws(self.single("call-id"))
            if _CALL_ID_RE.fullmatch(value) is None:
                raise SipParseError(f"bad Call-ID {value!r}")
            parsed = self._parsed["call-id"] = value
        return cast(str, parsed)

    def from_address(self) -> NameAddress:
        """Return the From field value."""
        parsed = self._parsed.get("from")
        if parsed is None:
            parsed = self._parsed["from"] = NameAddress.parse(self.single("from"))
        return cast(NameAddress, parsed)

    def to_address(self) -> NameAddress:
        """Return the To field value."""
        parsed = self._parsed.get("to")
        if parsed is None:
            parsed = self._parsed["to"] = NameAddress.parse(self.single("to"))
        return cast(NameAddress, parsed)

    def content_length(self) -> int | None:
        """Return Content-Length, or None when absent."""
        value = self._optional_single("content-length")
        return None if value is None else parse_integer(value, "Content-Length", 2**31)

    def max_forwards(self) -> int | None:
        """Return Max-Forwards (0-255, RFC 3261 §20.22), or None when absent."""
        value = self._optional_single("max-forwards")
        return None if value is None else parse_integer(value, "Max-Forwards", 255)

    def expires(self) -> int | None:
        """Return Expires in seconds, or None when absent."""
        value = self._optional_single("expires")
        return None if value is None else parse_integer(value, "Expires", MAX_DELTA_SECONDS)

    def contacts(self) -> list[NameAddress] | ContactStar:
        """Return the Contact values, or :class:`ContactStar` for ``*``."""
        parsed = self._parsed.get("contact")
        if parsed is None:
            values = self.values("contact")
            if values == ["*"]:
                parsed = ContactStar()
            else:
                parsed = tuple(NameAddress.parse(value) for value in values)
            self._parsed["contact"] = parsed
        if isinstance(parsed, ContactStar):
            return parsed
        return list(cast(tuple[NameAddress, ...], parsed))

    def name_addresses(self, name: str) -> list[NameAddress]:
        """Return the values of a name-addr list field (Route, Record-Route...)."""
        return [NameAddress.parse(value) for value in self.values(name)]

    def single(self, name: str) -> str:
        """Return the only value of a single-valued field.

        Raises:
            SipParseError: the field is missing or appears more than once.
        """
        values = self._lines(name)
        if values is None or len(values) != 1:
            state = "missing" if not values else "repeated"
            raise SipParseError(f"{state} {canonical_name(name)} header")
        return values[0]


def _first_via(lines: list[str] | None) -> Via | None:
    """Parse the first element of the first non-empty Via line, or None."""
    for line in lines or ():
        for piece in split_outside(line, ","):
            text = strip_lws(piece)
            if text:
                return Via.parse(text)
    return None
