"""SDP session descriptions (RFC 8866) and the offer/answer model (RFC 3264).

Theory of operation
-------------------
:meth:`SessionDescription.parse` reads text or bytes (CRLF, LF tolerated)
into frozen dataclasses; ``str()`` / ``bytes()`` write canonical CRLF text
back.  Every ``a=`` line is kept as an :class:`Attribute`, in order, so
unknown attributes survive a round trip; typed views (``codecs``,
``direction``, ``ptime``, ``rtcp_mux``) read them.  Field values are checked
when a model is built, so a model always serialises to text that parses back
to an equal model.  Lines may appear in any order within their section (they
are written in RFC 8866 §5 order), but an unknown type letter, a repeated
single-valued line or a malformed value is refused with a
:class:`SdpParseError` naming the line.

Offer/answer runs in two steps, so a B2BUA can decide "488 Not Acceptable
Here" before it allocates RTP ports:

1. :func:`negotiate` matches each offered m-line against local
   :class:`MediaCapabilities` and picks codecs and a direction;
2. :func:`create_answer` writes the answer: same m-lines in the same order,
   rejected ones with port 0 (RFC 3264 §6).

Codec order follows the answerer's preference by default (we are the PBX
and know what we transcode cheaply); :attr:`CodecOrder.OFFERER` follows the
offer.  ``telephone-event`` and ``CN`` are auxiliary: kept (with the
offer's payload type, RFC 3264 §6.1) only beside a real codec of the same
clock rate.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from .errors import LocalProtocolError, SipError, SipParseError
from .memo import ParseMemo

__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "AddressType",
    "Attribute",
    "Bandwidth",
    "Codec",
    "CodecOrder",
    "CodecSpec",
    "Connection",
    "Direction",
    "InvalidSdpValue",
    "MediaCapabilities",
    "MediaDescription",
    "Origin",
    "SdpError",
    "SdpParseError",
    "SessionDescription",
    "StreamNegotiation",
    "Timing",
    "bump_version",
    "create_answer",
    "is_acceptable",
    "is_hold",
    "negotiate",
    "negotiated_codecs",
    "rewrite_connection",
]


class SdpError(SipError):
    """Base of every SDP error."""


class SdpParseError(SdpError, SipParseError):
    """The peer's SDP is malformed; ``line_number`` is 1-based, or None."""

    def __init__(self, reason: str, *, line_number: int | None = None, line: str = "") -> None:
        where = f"line {line_number} {line!r}: " if line_number is not None else ""
        super().__init__(where + reason)
        self.line_number = line_number
        self.line = line


class InvalidSdpValue(SdpError, LocalProtocolError, ValueError):
    """A model was built with a value that cannot be written as SDP."""


# --- grammar (RFC 8866 §9) ----------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_PROTO = re.compile(rf"{_TOKEN.pattern}(?:/{_TOKEN.pattern})*")
_WORD = re.compile(r"[^\s\x00]+")  # non-ws-string
_TEXT = re.compile(r"[^\x00\r\n\ud800-\udfff]*")  # byte-string, as UTF-8
_DIGITS = re.compile(r"[0-9]+")
_RTPMAP = re.compile(r"([0-9]{1,3}) ([^\s/]+)/([0-9]+)(?:/([0-9]+))?")
_FMTP = re.compile(r"(\S+)(?: (.*))?")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NULL_ADDRESSES = frozenset({"0.0.0.0", "::"})


def _check(pattern: re.Pattern[str], value: str, what: str) -> None:
    if pattern.fullmatch(value) is None:
        raise InvalidSdpValue(f"bad {what}: {value!r}")


def _check_optional_text(*values: str | None) -> None:
    for value in values:
        if value is not None:
            _check(_TEXT, value, "text")


def _to_int(value: str, what: str, maximum: int | None = None) -> int:
    _check(_DIGITS, value, what)
    number = int(value)
    if maximum is not None and number > maximum:
        raise InvalidSdpValue(f"{what} {number} above {maximum}")
    return number


class AddressType(Enum):
    """``IP4`` or ``IP6`` (RFC 8866 §5.7)."""

    IP4 = "IP4"
    IP6 = "IP6"

    @classmethod
    def of(cls, address: str) -> AddressType:
        """Guess the type of a literal address (a colon means IPv6)."""
        return cls.IP6 if ":" in address else cls.IP4


class Direction(Enum):
    """Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1)."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """True if the SDP's author sends media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """True if the SDP's author wants to receive media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def from_flags(cls, *, sends: bool, receives: bool) -> Direction:
        """Build a direction from what the author sends and receives."""
        if sends:
            return cls.SENDRECV if receives else cls.SENDONLY
        return cls.RECVONLY if receives else cls.INACTIVE


class CodecOrder(Enum):
    """Whose preference orders the codecs of an answer."""

    ANSWERER = "answerer"
    OFFERER = "offerer"


# --- model ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """``o=``: who made the session and its version (RFC 8866 §5.2)."""

    username: str = "-"
    session_id: str
    session_version: int
    network_type: str = "IN"
    address_type: AddressType = AddressType.IP4
    address: str

    def __post_init__(self) -> None:
        _check(_WORD, self.username, "origin username")
        _check(_DIGITS, self.session_id, "session id")
        _check(_TOKEN, self.network_type, "network type")
        _check(_WORD, self.address, "origin address")
        if self.session_version < 0:
            raise InvalidSdpValue("negative session version")

    def bumped(self) -> Origin:
        """Return this origin with the version incremented (RFC 3264 §8)."""
        return _evolve(self, session_version=self.session_version + 1)

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.network_type} {self.address_type.value} {self.address}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """``c=``: where media goes (RFC 8866 §5.7); TTL/count stay in ``address``."""

    network_type: str = "IN"
    address_type: AddressType = AddressType.IP4
    address: str

    def __post_init__(self) -> None:
        _check(_TOKEN, self.network_type, "network type")
        _check(_WORD, self.address, "connection address")

    @property
    def is_null(self) -> bool:
        """True for ``0.0.0.0`` / ``::``, the RFC 2543 way to say "hold"."""
        return self.address in _NULL_ADDRESSES

    def __str__(self) -> str:
        return f"{self.network_type} {self.address_type.value} {self.address}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Bandwidth:
    """``b=<type>:<kbit/s or bit/s>`` (RFC 8866 §5.8)."""

    type: str
    value: int

    def __post_init__(self) -> None:
        _check(_TOKEN, self.type, "bandwidth type")
        if self.value < 0:
            raise InvalidSdpValue("negative bandwidth")

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """``t=`` with its ``r=`` repeat lines kept as text (RFC 8866 §5.9-5.10)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start < 0 or self.stop < 0:
            raise InvalidSdpValue("negative time")
        _check_optional_text(*self.repeats)


# Attributes whose value has a grammar we read; RFC 8866 §6.
_VALUE_GRAMMAR = {
    "rtpmap": _RTPMAP,
    "fmtp": _FMTP,
    "ptime": _DECIMAL,
    "maxptime": _DECIMAL,
}
_FLAGS = frozenset({"rtcp-mux", *(direction.value for direction in Direction)})


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    """``a=<name>`` or ``a=<name>:<value>`` (RFC 8866 §5.13)."""

    name: str
    value: str | None = None

    def __post_init__(self) -> None:
        _check(_TOKEN, self.name, "attribute name")
        _check_optional_text(self.value)
        grammar = _VALUE_GRAMMAR.get(self.name)
        if grammar is not None:
            _check(grammar, self.value or "", f"a={self.name} value")
        if self.name in _FLAGS and self.value is not None:
            raise InvalidSdpValue(f"a={self.name} takes no value")

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecSpec:
    """A codec we support, without a payload type: ``PCMU/8000``."""

    encoding_name: str
    clock_rate: int
    channels: int | None = None
    parameters: str | None = None  # fmtp to answer with; None copies the offer's

    @classmethod
    def parse(cls, text: str) -> CodecSpec:
        """Read ``name/rate[/channels]``.

        Args:
            text: e.g. ``"telephone-event/8000"``.

        Returns:
            The spec.

        Raises:
            InvalidSdpValue: not in that form.
        """
        match = _RTPMAP.fullmatch(f"0 {text}")
        if match is None:
            raise InvalidSdpValue(f"bad codec {text!r}")
        channels = match.group(4)
        return cls(
            encoding_name=match.group(2),
            clock_rate=int(match.group(3)),
            channels=int(channels) if channels else None,
        )

    def matches(self, codec: CodecSpec | Codec) -> bool:
        """Same name (case-insensitive), clock rate and channel count (None = 1)."""
        return (
            self.encoding_name.lower() == codec.encoding_name.lower()
            and self.clock_rate == codec.clock_rate
            and (self.channels or 1) == (codec.channels or 1)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """An RTP payload type of one m-line, resolved through rtpmap or RFC 3551."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int | None = None
    parameters: str | None = None  # the a=fmtp value

    @property
    def is_auxiliary(self) -> bool:
        """True for DTMF events and comfort noise, which ride beside a codec."""
        return self.encoding_name.lower() in _AUXILIARY

    def __str__(self) -> str:
        channels = f"/{self.channels}" if self.channels else ""
        return f"{self.encoding_name}/{self.clock_rate}{channels}"


_AUXILIARY = frozenset({"telephone-event", "cn"})

# RFC 3551 §6, tables 4 and 5: payload types usable without a=rtpmap.
STATIC_PAYLOAD_TYPES: dict[int, CodecSpec] = {
    payload_type: CodecSpec.parse(text)
    for payload_type, text in {
        0: "PCMU/8000",
        3: "GSM/8000",
        4: "G723/8000",
        5: "DVI4/8000",
        6: "DVI4/16000",
        7: "LPC/8000",
        8: "PCMA/8000",
        9: "G722/8000",
        10: "L16/44100/2",
        11: "L16/44100",
        12: "QCELP/8000",
        13: "CN/8000",
        14: "MPA/90000",
        15: "G728/8000",
        16: "DVI4/11025",
        17: "DVI4/22050",
        18: "G729/8000",
        25: "CelB/90000",
        26: "JPEG/90000",
        28: "nv/90000",
        31: "H261/90000",
        32: "MPV/90000",
        33: "MP2T/90000",
        34: "H263/90000",
    }.items()
}


def _is_rtp(proto: str) -> bool:
    return "RTP/" in proto.upper()


def _first(attributes: Sequence[Attribute], name: str) -> Attribute | None:
    return next((attribute for attribute in attributes if attribute.name == name), None)


def _direction_of(attributes: Sequence[Attribute]) -> Direction | None:
    values = [attribute.name for attribute in attributes if attribute.name in _DIRECTIONS]
    return Direction(values[0]) if values else None


def _with_direction(
    attributes: tuple[Attribute, ...], direction: Direction
) -> tuple[Attribute, ...]:
    kept = tuple(attribute for attribute in attributes if attribute.name not in _DIRECTIONS)
    return (*kept, Attribute(name=direction.value))


_DIRECTIONS = frozenset(direction.value for direction in Direction)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDescription:
    """One ``m=`` section and its lines (RFC 8866 §5.14)."""

    media: str
    port: int
    port_count: int | None = None
    proto: str = "RTP/AVP"
    formats: tuple[str, ...]
    information: str | None = None
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    _codecs: tuple[Codec, ...] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    """:attr:`codecs`, worked out once (the description is immutable)."""

    def __post_init__(self) -> None:
        _check(_TOKEN, self.media, "media type")
        _check(_PROTO, self.proto, "transport protocol")
        if not 0 <= self.port <= 65535 or (self.port_count is not None and self.port_count < 1):
            raise InvalidSdpValue(f"bad port {self.port}/{self.port_count}")
        # RFC 3264 §6: even a rejected stream lists a format; port 0 tolerates none.
        if not self.formats and self.port != 0:
            raise InvalidSdpValue("an m-line needs at least one format")
        for media_format in self.formats:
            _check(_WORD, media_format, "format")
            if _is_rtp(self.proto):
                _to_int(media_format, "RTP payload type", 127)
        _check_optional_text(self.information, self.key)
        if len([a for a in self.attributes if a.name in _DIRECTIONS]) > 1:
            raise InvalidSdpValue("more than one direction attribute")

    @property
    def direction(self) -> Direction | None:
        """The m-line's own direction attribute, if any."""
        return _direction_of(self.attributes)

    @property
    def rtcp_mux(self) -> bool:
        """True when ``a=rtcp-mux`` is present (RFC 5761)."""
        return _first(self.attributes, "rtcp-mux") is not None

    @property
    def ptime(self) -> float | None:
        """The ``a=ptime`` packet time in milliseconds, if any."""
        attribute = _first(self.attributes, "ptime")
        return float(attribute.value) if attribute and attribute.value else None

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """The formats as codecs, in m-line order; unknown dynamic types skipped."""
        if self._codecs is None:
            object.__setattr__(self, "_codecs", self._read_codecs())
        assert self._codecs is not None
        return self._codecs

    def _read_codecs(self) -> tuple[Codec, ...]:
        if not _is_rtp(self.proto):
            return ()
        specs: dict[int, CodecSpec] = {}  # rtpmap lines; else the static types
        parameters: dict[int, str] = {}
        for attribute in self.attributes:
            if attribute.name == "rtpmap" and attribute.value:
                payload_type, spec = _read_rtpmap(attribute.value)
                specs[payload_type] = spec
            elif attribute.name == "fmtp" and attribute.value:
                target, _, value = attribute.value.partition(" ")
                if _DIGITS.fullmatch(target):
                    parameters[int(target)] = value
        codecs = []
        for media_format in self.formats:
            payload_type = int(media_format)
            known = specs.get(payload_type) or STATIC_PAYLOAD_TYPES.get(payload_type)
            if known is not None:
                codecs.append(_codec(payload_type, known, parameters))
        return tuple(codecs)

    def with_direction(self, direction: Direction) -> MediaDescription:
        """Return a copy whose direction attribute is ``direction``."""
        return dataclasses.replace(self, attributes=_with_direction(self.attributes, direction))

    def lines(self) -> list[str]:
        """The section's lines, in RFC 8866 §5 order, without line ends."""
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        lines = [f"m={' '.join((self.media, port, self.proto, *self.formats))}"]
        lines += _optional("i", self.information)
        lines += _optional("c", self.connection)
        lines += [f"b={bandwidth}" for bandwidth in self.bandwidths]
        lines += _optional("k", self.key)
        return lines + [f"a={attribute}" for attribute in self.attributes]


def _read_rtpmap(value: str) -> tuple[int, CodecSpec]:
    known = _RTPMAPS.get(value)  # "0 PCMU/8000" in every offer: read once
    if known is not None:
        return known
    payload_type, _, rest = value.partition(" ")
    return _RTPMAPS.put(value, (int(payload_type), CodecSpec.parse(rest)))


_RTPMAPS: ParseMemo[tuple[int, CodecSpec]] = ParseMemo(1024)


def _codec(payload_type: int, spec: CodecSpec, parameters: dict[int, str]) -> Codec:
    return Codec(
        payload_type=payload_type,
        encoding_name=spec.encoding_name,
        clock_rate=spec.clock_rate,
        channels=spec.channels,
        parameters=parameters.get(payload_type),
    )


def _optional(kind: str, value: object | None) -> list[str]:
    return [] if value is None else [f"{kind}={value}"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDescription:
    """A whole SDP body (RFC 8866 §5); ``v=0`` is implied."""

    origin: Origin
    session_name: str = "-"
    information: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    timings: tuple[Timing, ...] = (Timing(),)
    time_zones: str | None = None
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()

    def __post_init__(self) -> None:
        _check(_TEXT, self.session_name, "session name")
        _check_optional_text(self.information, self.uri, self.time_zones, self.key)
        _check_optional_text(*self.emails, *self.phones)
        if not self.timings:
            raise InvalidSdpValue("at least one t= line is required")
        if len([a for a in self.attributes if a.name in _DIRECTIONS]) > 1:
            raise InvalidSdpValue("more than one session direction attribute")

    @classmethod
    def parse(cls, data: str | bytes) -> SessionDescription:
        """Parse an SDP body.

        Args:
            data: the body, as text or UTF-8 bytes; CRLF or LF line ends.

        Returns:
            The session description.

        Raises:
            SdpParseError: malformed; the message names the offending line.
        """
        return _parse(data)

    @property
    def direction(self) -> Direction | None:
        """The session-level direction attribute, if any."""
        return _direction_of(self.attributes)

    def media_direction(self, media: MediaDescription) -> Direction:
        """The direction in force for ``media`` (media, then session, then sendrecv)."""
        return media.direction or self.direction or Direction.SENDRECV

    def media_connection(self, media: MediaDescription) -> Connection | None:
        """The connection in force for ``media`` (its own, else the session's)."""
        return media.connection or self.connection

    def __str__(self) -> str:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        lines += _optional("i", self.information)
        lines += _optional("u", self.uri)
        lines += [f"e={email}" for email in self.emails]
        lines += [f"p={phone}" for phone in self.phones]
        lines += _optional("c", self.connection)
        lines += [f"b={bandwidth}" for bandwidth in self.bandwidths]
        for timing in self.timings:
            lines.append(f"t={timing.start} {timing.stop}")
            lines += [f"r={repeat}" for repeat in timing.repeats]
        lines += _optional("z", self.time_zones)
        lines += _optional("k", self.key)
        lines += [f"a={attribute}" for attribute in self.attributes]
        for media in self.media:
            lines += media.lines()
        return "\r\n".join(lines) + "\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


# --- parser ------------------------------------------------------------------------

_SESSION_LETTERS = "iuepcbtrzka"
_MEDIA_LETTERS = "icbka"
T = TypeVar("T")


def _evolve(instance: T, **changes: object) -> T:
    """``dataclasses.replace`` without ``__post_init__``: for checked values only.

    The parser and the rewriting helpers combine parts that were each
    checked when made (a parsed m-line, c= and a= lines); checking the whole
    again on every copy was a tenth of the anchor's cost. A private cache
    field (``_codecs``) starts empty in the copy.
    """
    copy = object.__new__(type(instance))
    for name in instance.__slots__:  # type: ignore[attr-defined]
        if name in changes:
            value = changes[name]
        else:
            value = None if name.startswith("_") else getattr(instance, name)
        object.__setattr__(copy, name, value)
    return copy


def _unchecked(kind: type[T], **values: object) -> T:
    """An instance of the frozen dataclass ``kind`` from parts already checked.

    Every public field must be given; private cache fields start empty.
    """
    instance = object.__new__(kind)
    for name in kind.__slots__:  # type: ignore[attr-defined]
        object.__setattr__(instance, name, None if name.startswith("_") else values[name])
    return instance


def _once(current: T | None, new: T, kind: str) -> T:
    if current is not None:
        raise InvalidSdpValue(f"a second '{kind}=' line")
    return new


@dataclass(slots=True)
class _Section:
    """One section's lines, each parsed as it is read so errors name the line."""

    letters: str
    header: MediaDescription | None = None
    texts: dict[str, str] = dataclasses.field(default_factory=dict)
    lists: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = dataclasses.field(default_factory=list)
    timings: list[Timing] = dataclasses.field(default_factory=list)
    attributes: list[Attribute] = dataclasses.field(default_factory=list)
    origin: Origin | None = None  # the session's o=, parsed when line 2 is read

    def add(self, kind: str, value: str) -> None:
        if kind not in self.letters:
            raise InvalidSdpValue(f"'{kind}=' is not allowed here")
        match kind:
            case "t":
                self.timings.append(_parse_timing(value))
            case "r":
                self._add_repeat(value)
            case "e" | "p":
                self.lists.setdefault(kind, []).append(value)
            case "b":
                self.bandwidths.append(_parse_bandwidth(value))
            case "a":
                self._add_attribute(_parse_attribute(value))
            case "c":
                self.connection = _once(self.connection, _parse_connection(value), kind)
            case _:
                self.texts[kind] = _once(self.texts.get(kind), value, kind)

    def _add_repeat(self, value: str) -> None:
        if not self.timings:
            raise InvalidSdpValue("'r=' before any 't='")
        last = self.timings[-1]
        self.timings[-1] = dataclasses.replace(last, repeats=(*last.repeats, value))

    def _add_attribute(self, attribute: Attribute) -> None:
        if attribute.name in _DIRECTIONS and _direction_of(self.attributes) is not None:
            raise InvalidSdpValue("more than one direction attribute")
        self.attributes.append(attribute)

    def media(self) -> MediaDescription:
        assert self.header is not None
        # Each part was checked as its line was read (directions by _add_attribute).
        return _evolve(
            self.header,
            information=self.texts.get("i"),
            connection=self.connection,
            bandwidths=tuple(self.bandwidths),
            key=self.texts.get("k"),
            attributes=tuple(self.attributes),
        )


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpParseError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc


def _plain_text(data: str | bytes) -> bool:
    """True when every line of ``data`` is ``text`` (RFC 8866 §9): no NUL, CR only before LF.

    Bytes decoded as strict UTF-8 hold no surrogates, so for them the two
    counts decide for the whole body at once; the lines then need no check
    of their own (a body that fails is checked line by line, for the error).
    """
    return (
        isinstance(data, bytes) and b"\x00" not in data and data.count(b"\r") == data.count(b"\r\n")
    )


def _lines(text: str) -> list[tuple[int, str]]:
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()  # the final line end
    return [(number, line.removesuffix("\r")) for number, line in enumerate(raw, start=1)]


def _parse(data: str | bytes) -> SessionDescription:
    lines = _lines(_decode(data))
    heads = [line for _, line in lines[:3]]
    if len(heads) < 3 or heads[0] != "v=0" or not heads[1].startswith("o="):
        raise SdpParseError("an SDP body starts with v=0, o= and s= lines", line_number=1)
    if not heads[2].startswith("s="):
        raise SdpParseError("the third line must be s=", line_number=3, line=heads[2])
    sections = [_Section(_SESSION_LETTERS)]
    checked = _plain_text(data)
    for number, line in lines[1:]:
        try:
            _read_line(line, number, sections, checked)
        except InvalidSdpValue as exc:
            raise SdpParseError(str(exc), line_number=number, line=line) from exc
    try:
        return _build(heads[1][2:], heads[2][2:], sections[0], sections[1:])
    except InvalidSdpValue as exc:
        raise SdpParseError(str(exc)) from exc


def _read_line(line: str, number: int, sections: list[_Section], checked: bool = False) -> None:
    if len(line) < 2 or line[1] != "=" or not "a" <= line[0] <= "z":
        raise InvalidSdpValue("not a <type>=<value> line")
    kind, value = line[0], line[2:]
    if not checked:
        _check(_TEXT, value, "line")
    if number == 2:
        sections[0].origin = _parse_origin(value)  # here so its errors name line 2
    elif number == 3:
        pass  # the session name: any text (checked with the line)
    elif kind == "m":
        sections.append(_Section(_MEDIA_LETTERS, header=_parse_media(value)))
    else:
        sections[-1].add(kind, value)


def _build(origin: str, name: str, session: _Section, medias: list[_Section]) -> SessionDescription:
    if not session.timings:
        raise InvalidSdpValue("no t= line")
    # Every part was checked as its line was read (texts, the one direction
    # attribute, t= present): the whole needs no ``__post_init__`` again.
    return _unchecked(
        SessionDescription,
        origin=session.origin or _parse_origin(origin),
        session_name=name,
        information=session.texts.get("i"),
        uri=session.texts.get("u"),
        emails=tuple(session.lists.get("e", [])),
        phones=tuple(session.lists.get("p", [])),
        connection=session.connection,
        bandwidths=tuple(session.bandwidths),
        timings=tuple(session.timings),
        time_zones=session.texts.get("z"),
        key=session.texts.get("k"),
        attributes=tuple(session.attributes),
        media=tuple(section.media() for section in medias),
    )


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6:
        raise InvalidSdpValue(f"o= needs 6 fields: {value!r}")
    username, session_id, version, network_type, address_type, address = parts
    return Origin(
        username=username,
        session_id=session_id,
        session_version=_to_int(version, "session version"),
        network_type=network_type,
        address_type=_address_type(address_type),
        address=address,
    )


def _address_type(value: str) -> AddressType:
    try:
        return AddressType(value)
    except ValueError:
        raise InvalidSdpValue(f"unknown address type {value!r}") from None


def _parse_connection(value: str) -> Connection:
    known = _CONNECTIONS.get(value)
    if known is not None:
        return known
    parts = value.split()
    if len(parts) != 3:
        raise InvalidSdpValue(f"c= needs 3 fields: {value!r}")
    connection = Connection(
        network_type=parts[0], address_type=_address_type(parts[1]), address=parts[2]
    )
    return _CONNECTIONS.put(value, connection)


def _parse_bandwidth(value: str) -> Bandwidth:
    kind, _, amount = value.partition(":")
    return Bandwidth(type=kind, value=_to_int(amount, "bandwidth"))


def _parse_timing(value: str) -> Timing:
    if value == "0 0":
        return _UNBOUNDED  # what every phone writes (RFC 8866 §5.9: a permanent session)
    parts = value.split()
    if len(parts) != 2:
        raise InvalidSdpValue(f"t= needs 2 fields: {value!r}")
    return Timing(start=_to_int(parts[0], "start time"), stop=_to_int(parts[1], "stop time"))


# Attribute and c= lines repeat from body to body (every PCMU offer has
# "rtpmap:0 PCMU/8000", a phone always names its own address): each text is
# checked once (memo.py). The values are frozen, so sharing them is safe.
_ATTRIBUTES: ParseMemo[Attribute] = ParseMemo(1024)
_CONNECTIONS: ParseMemo[Connection] = ParseMemo(1024)
_UNBOUNDED = Timing(start=0, stop=0)


def _parse_attribute(value: str) -> Attribute:
    known = _ATTRIBUTES.get(value)
    if known is not None:
        return known
    name, colon, rest = value.partition(":")
    return _ATTRIBUTES.put(value, Attribute(name=name, value=rest if colon else None))


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise InvalidSdpValue(f"m= needs media, port, proto and formats: {value!r}")
    port, _, count = parts[1].partition("/")
    return MediaDescription(
        media=parts[0],
        port=_to_int(port, "port", 65535),
        port_count=_to_int(count, "port count") if count else None,
        proto=parts[2],
        formats=tuple(parts[3:]),
    )


# --- offer / answer (RFC 3264) ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaCapabilities:
    """What we accept for one kind of stream; each accepts one m-line at most."""

    codecs: tuple[CodecSpec, ...]  # in preference order
    media: str = "audio"
    protocols: tuple[str, ...] = ("RTP/AVP",)
    direction: Direction = Direction.SENDRECV  # what we want, before the offer's say
    ptime: int | None = None
    rtcp_mux: bool = True
    single_codec: bool = False
    order: CodecOrder = CodecOrder.ANSWERER


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamNegotiation:
    """The decision for one offered m-line; no codecs means rejected."""

    media: str
    proto: str
    codecs: tuple[Codec, ...] = ()
    direction: Direction = Direction.INACTIVE
    rtcp_mux: bool = False
    ptime: int | None = None

    @property
    def accepted(self) -> bool:
        """True when the stream is accepted (answered with a real port)."""
        return bool(self.codecs)


def negotiate(
    offer: SessionDescription, capabilities: Sequence[MediaCapabilities]
) -> tuple[StreamNegotiation, ...]:
    """Decide, for each offered m-line, whether and how to accept it.

    Args:
        offer: the received offer.
        capabilities: what we support; each entry accepts the first
            matching m-line (media type and protocol) with a common codec.

    Returns:
        One decision per offered m-line, in order.
    """
    unused = list(capabilities)
    return tuple(_negotiate_stream(offer, media, unused) for media in offer.media)


def _negotiate_stream(
    offer: SessionDescription, media: MediaDescription, unused: list[MediaCapabilities]
) -> StreamNegotiation:
    rejected = StreamNegotiation(media=media.media, proto=media.proto)
    if media.port == 0:
        return rejected  # RFC 3264 §8.2: a disabled stream stays disabled
    for capability in unused:
        if capability.media != media.media or media.proto not in capability.protocols:
            continue
        codecs = _choose_codecs(media.codecs, capability)
        if codecs:
            unused.remove(capability)
            return StreamNegotiation(
                media=media.media,
                proto=media.proto,
                codecs=codecs,
                direction=_answer_direction(_offered_direction(offer, media), capability),
                rtcp_mux=media.rtcp_mux and capability.rtcp_mux,
                ptime=capability.ptime,
            )
    return rejected


def _offered_direction(offer: SessionDescription, media: MediaDescription) -> Direction:
    direction = offer.media_direction(media)
    if _legacy_hold(offer, media):
        # RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 hold: send nothing to it.
        return Direction.from_flags(sends=direction.sends, receives=False)
    return direction


def _legacy_hold(offer: SessionDescription, media: MediaDescription) -> bool:
    connection = offer.media_connection(media)
    if connection is None or not connection.is_null:
        return False
    # With ICE (RFC 8839 §4.2.1) the c= line is only a placeholder, often 0.0.0.0.
    ice = _first(media.attributes, "ice-ufrag") or _first(offer.attributes, "ice-ufrag")
    return ice is None


def _answer_direction(offered: Direction, capability: MediaCapabilities) -> Direction:
    # RFC 3264 §6.1: we may send only if they receive, receive only if they send.
    return Direction.from_flags(
        sends=offered.receives and capability.direction.sends,
        receives=offered.sends and capability.direction.receives,
    )


def _choose_codecs(offered: Sequence[Codec], capability: MediaCapabilities) -> tuple[Codec, ...]:
    primary = [codec for codec in offered if not codec.is_auxiliary]
    specs = [spec for spec in capability.codecs if spec.encoding_name.lower() not in _AUXILIARY]
    if capability.order is CodecOrder.ANSWERER:
        pairs = [(c, s) for s in specs for c in primary if s.matches(c)]
    else:
        pairs = [(c, s) for c in primary for s in specs if s.matches(c)]
    chosen = _unique(_answered(codec, spec) for codec, spec in pairs)
    if capability.single_codec:
        chosen = chosen[:1]
    rates = {codec.clock_rate for codec in chosen}
    auxiliary = [
        _answered(codec, spec)
        for codec in offered
        if codec.is_auxiliary and codec.clock_rate in rates
        for spec in capability.codecs
        if spec.matches(codec)
    ]
    return tuple(chosen + _unique(auxiliary)) if chosen else ()


def _answered(offered: Codec, spec: CodecSpec) -> Codec:
    if spec.parameters is None:
        return offered
    return dataclasses.replace(offered, parameters=spec.parameters)


def _unique(codecs: Iterable[Codec]) -> list[Codec]:
    seen: dict[int, Codec] = {}
    for codec in codecs:
        seen.setdefault(codec.payload_type, codec)
    return list(seen.values())


def is_acceptable(negotiation: Sequence[StreamNegotiation]) -> bool:
    """Tell whether any stream was accepted.

    Args:
        negotiation: the result of :func:`negotiate`.

    Returns:
        False when nothing is in common: answer the INVITE with 488 Not
        Acceptable Here (RFC 3261 §21.4.26) instead of an all-rejected answer.
    """
    return any(stream.accepted for stream in negotiation)


def create_answer(
    offer: SessionDescription,
    negotiation: Sequence[StreamNegotiation],
    *,
    origin: Origin,
    address: str,
    ports: Sequence[int],
    session_name: str = "-",
) -> SessionDescription:
    """Write the answer to ``offer`` (RFC 3264 §6).

    Args:
        offer: the received offer.
        negotiation: :func:`negotiate`'s decisions for this offer.
        origin: our ``o=`` line; bump its version on each new answer or offer.
        address: our media address, written as the session ``c=``.
        ports: one RTP port per offered m-line (ignored for rejected ones).
        session_name: the ``s=`` value.

    Returns:
        The answer, with the offer's m-lines in the same order.

    Raises:
        InvalidSdpValue: ``negotiation`` or ``ports`` do not match the offer.
    """
    if not len(offer.media) == len(negotiation) == len(ports):
        raise InvalidSdpValue("one decision and one port per offered m-line")
    return SessionDescription(
        origin=origin,
        session_name=session_name,
        connection=Connection(address_type=AddressType.of(address), address=address),
        timings=offer.timings,  # RFC 3264 §6: the answer's t= equals the offer's
        media=tuple(
            _answer_media(media, stream, port)
            for media, stream, port in zip(offer.media, negotiation, ports, strict=True)
        ),
    )


def _answer_media(
    offered: MediaDescription, stream: StreamNegotiation, port: int
) -> MediaDescription:
    if not stream.accepted:
        return MediaDescription(
            media=offered.media, port=0, proto=offered.proto, formats=offered.formats
        )
    attributes = [Attribute(name="rtpmap", value=f"{c.payload_type} {c}") for c in stream.codecs]
    attributes += [
        Attribute(name="fmtp", value=f"{c.payload_type} {c.parameters}")
        for c in stream.codecs
        if c.parameters is not None
    ]
    if stream.ptime is not None:
        attributes.append(Attribute(name="ptime", value=str(stream.ptime)))
    if stream.rtcp_mux:
        attributes.append(Attribute(name="rtcp-mux"))
    attributes.append(Attribute(name=stream.direction.value))
    return MediaDescription(
        media=offered.media,
        port=port,
        proto=offered.proto,
        formats=tuple(str(codec.payload_type) for codec in stream.codecs),
        attributes=tuple(attributes),
    )


# --- helpers for a B2BUA -----------------------------------------------------------


def bump_version(description: SessionDescription) -> SessionDescription:
    """Return ``description`` with its ``o=`` version incremented.

    RFC 3264 §8: each new offer or answer within a session increments the
    version, so the peer can tell a changed SDP from a repeated one.

    Args:
        description: our previous SDP for this session.

    Returns:
        The same SDP with the next version.
    """
    return dataclasses.replace(description, origin=description.origin.bumped())


def is_hold(description: SessionDescription) -> bool:
    """Tell whether this SDP puts the call on hold.

    Args:
        description: an offer received from a peer.

    Returns:
        True when every active stream is ``sendonly`` or ``inactive``, or
        points at ``0.0.0.0`` (RFC 3264 §8.4): its author will not receive.
    """
    active = [media for media in description.media if media.port != 0]
    return bool(active) and not any(
        _offered_direction(description, media).receives for media in active
    )


def rewrite_connection(
    description: SessionDescription, *, address: str, ports: Sequence[int]
) -> SessionDescription:
    """Point every stream at ``address`` and new ports (media anchoring).

    A legacy ``c=0.0.0.0`` hold becomes an explicit direction attribute, so
    the hold survives the new address; ``a=rtcp`` lines, which name the old
    address, are dropped.

    Args:
        description: the SDP to relay.
        address: the anchoring address, written as the session ``c=``.
        ports: one port per m-line (rejected streams keep port 0).

    Returns:
        The rewritten SDP.

    Raises:
        InvalidSdpValue: not one port per m-line.
    """
    if len(ports) != len(description.media):
        raise InvalidSdpValue("one port per m-line")
    media = tuple(
        _rewrite_media(description, item, port)
        for item, port in zip(description.media, ports, strict=True)
    )
    connection = Connection(address_type=AddressType.of(address), address=address)
    return _evolve(description, connection=connection, media=media)


def _rewrite_media(
    description: SessionDescription, media: MediaDescription, port: int
) -> MediaDescription:
    attributes = tuple(attribute for attribute in media.attributes if attribute.name != "rtcp")
    if _legacy_hold(description, media):
        attributes = _with_direction(attributes, _offered_direction(description, media))
    if not 0 <= port <= 65535:
        raise InvalidSdpValue(f"bad port {port}")
    # The rest of the m-line was checked when it was parsed: no __post_init__.
    return _evolve(
        media,
        port=port if media.port != 0 else 0,
        connection=None,
        attributes=attributes,
    )


def negotiated_codecs(
    offer: SessionDescription, answer: SessionDescription
) -> tuple[tuple[Codec, ...], ...]:
    """List, per m-line, the answer's codecs that the offer also listed.

    Args:
        offer: the offer.
        answer: the answer to it.

    Returns:
        One tuple per m-line, in the answer's order (empty when rejected);
        the first non-auxiliary codec is the one to send.
    """
    result = []
    for offered, answered in zip(offer.media, answer.media, strict=False):
        offered_codecs = offered.codecs
        result.append(
            ()
            if answered.port == 0
            else tuple(
                codec
                for codec in answered.codecs
                if any(_same_codec(codec, other) for other in offered_codecs)
            )
        )
    return tuple(result)


def _same_codec(one: Codec, other: Codec) -> bool:
    """:meth:`CodecSpec.matches` of two codecs, without making a spec of either."""
    return (
        one.clock_rate == other.clock_rate
        and (one.channels or 1) == (other.channels or 1)
        and one.encoding_name.lower() == other.encoding_name.lower()
    )
