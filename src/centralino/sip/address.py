"""Name-addresses: the ``[display-name] <URI> ;params`` values of From, To,
Contact, Route, Record-Route and Reply-To (RFC 3261 §20, §25.1).

Two spellings exist. ``name-addr`` wraps the URI in ``<>``; ``addr-spec``
does not, and then every ``;param`` after the URI belongs to the *header*,
not to the URI, which is why such a URI may not contain ``,``, ``?`` or
``;`` (§20.10, RFC 4475 §3.1.2.13). Formatting always writes ``<>``, so a
value can never change meaning on the way out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .errors import SipParseError
from .grammar import TOKEN, is_token, quote_string, split_outside, strip_lws, unquote_string
from .memo import ParseMemo
from .parameters import Parameters
from .uri import Uri

__all__ = ["NameAddress", "format_header_parameters", "parse_header_parameters"]

_DISPLAY_TOKENS_RE = re.compile(rf"{TOKEN}(?:[ \t]+{TOKEN})*")
# gen-value = token / host / quoted-string (RFC 3261 §25.1)
_GEN_VALUE_RE = re.compile(rf'{TOKEN}|\[[0-9A-Fa-f:.]+\]|"(?:[^"\\]|\\.)*"')
# A parameter list without quoted strings, as nearly every header carries
# (";branch=z9hG4bK...;rport", ";tag=...", ";expires=60"): one expression
# checks the whole list, then plain splitting takes it apart.
_PLAIN_PARAMETERS_RE = re.compile(
    rf"(?:[ \t]*;[ \t]*{TOKEN}(?:[ \t]*=[ \t]*(?:{TOKEN}|\[[0-9A-Fa-f:.]+\]))?)*[ \t]*"
)
# From, To and Contact values repeat across a phone's requests (memo.py).
_PARSED: ParseMemo[NameAddress] = ParseMemo(4096)
# Values with a tag repeat only within a dialog (a call's responses, ACK and
# BYE) and a new dialog brings new ones: they get a memo of their own, so
# that they never push a phone's To and Contact out of the one above.
_TAGGED: ParseMemo[NameAddress] = ParseMemo(1024)


@dataclass(frozen=True, slots=True, kw_only=True)
class NameAddress:
    """A URI with an optional display name and header parameters (tag, q...)."""

    uri: Uri
    display_name: str | None = None
    parameters: Parameters = field(default_factory=Parameters)

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        """Parse a ``name-addr`` or ``addr-spec`` followed by parameters.

        Args:
            text: one header field value (one element of a comma list).

        Returns:
            The parsed name-address.

        Raises:
            SipParseError: malformed display name, URI or parameters.
        """
        known = _PARSED.get(text) or _TAGGED.get(text)
        if known is not None:
            return known
        if ";" in text and '"' not in text:
            tagged = _parse_tagged(text)
            if tagged is not None:
                return _TAGGED.put(text, tagged)
        return _PARSED.put(text, cls._parse(text))

    @classmethod
    def _parse(cls, text: str) -> NameAddress:
        text = strip_lws(text)
        if text.startswith('"'):
            return _parse_quoted(text)
        angle = text.find("<")
        if angle >= 0:
            display = strip_lws(text[:angle])
            if display and _DISPLAY_TOKENS_RE.fullmatch(display) is None:
                raise SipParseError(f"display name must be tokens or quoted: {display!r}")
            return _parse_bracketed(text[angle:], display or None)
        return _parse_addr_spec(text)

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (RFC 3261 §19.3), if any."""
        return self.parameters.get("tag")

    def with_tag(self, tag: str) -> NameAddress:
        """Return a copy carrying ``;tag=tag``."""
        return replace(self, parameters=self.parameters.with_value("tag", tag))

    def with_parameter(self, name: str, value: str | None) -> NameAddress:
        """Return a copy with the header parameter ``name`` set."""
        return replace(self, parameters=self.parameters.with_value(name, value))

    def __str__(self) -> str:
        text = f"<{self.uri}>{format_header_parameters(self.parameters)}"
        if self.display_name is None:
            return text
        name = self.display_name
        if _DISPLAY_TOKENS_RE.fullmatch(name) is None or "  " in name:
            name = quote_string(name)
        return f"{name} {text}"


def _parse_tagged(text: str) -> NameAddress | None:
    """A ``<URI>;...;tag=...`` value, its ``<URI>`` part through the main memo.

    A tag is new in every dialog (a From in every call and registration):
    the ``<URI>`` part repeats, the whole does not beyond the dialog.
    None: not of that form (no tag, or no ``<>``), the caller parses it whole.
    """
    text = strip_lws(text)
    angle = text.find("<")
    close = text.find(">", angle + 1)
    if angle < 0 or close < 0 or "tag" not in text[close:].lower():
        return None
    head = NameAddress.parse(text[: close + 1])  # display name and URI, remembered
    parameters = parse_header_parameters(text[close + 1 :])
    return NameAddress(uri=head.uri, display_name=head.display_name, parameters=parameters)


def _parse_quoted(text: str) -> NameAddress:
    end = _closing_quote(text)
    display = unquote_string(text[: end + 1])
    rest = strip_lws(text[end + 1 :])
    if not rest.startswith("<"):
        raise SipParseError("quoted display name must be followed by <URI>")
    return _parse_bracketed(rest, display)


def _closing_quote(text: str) -> int:
    index = 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index
        index += 1
    raise SipParseError(f"unterminated quoted string in {text!r}")


def _parse_bracketed(text: str, display: str | None) -> NameAddress:
    close = text.find(">")
    if close < 0:
        raise SipParseError(f"missing '>' in {text!r}")
    # LAQUOT/RAQUOT hug the addr-spec: no white space inside (RFC 4475 §3.1.2.14).
    uri = Uri.parse(text[1:close])
    parameters = parse_header_parameters(text[close + 1 :])
    return NameAddress(uri=uri, display_name=display, parameters=parameters)


def _parse_addr_spec(text: str) -> NameAddress:
    uri_text, semicolon, rest = text.partition(";")
    uri_text = strip_lws(uri_text)
    if "?" in uri_text or "," in uri_text:
        raise SipParseError(f"URI with '?' or ',' must be enclosed in <>: {text!r}")
    parameters = parse_header_parameters(semicolon + rest)
    return NameAddress(uri=Uri.parse(uri_text), parameters=parameters)


def parse_header_parameters(text: str) -> Parameters:
    """Parse ``*( SEMI generic-param )`` with the LWS SIP allows around ``;`` and ``=``.

    Args:
        text: the text after a header value's main part (may be empty).

    Returns:
        The parameters, values kept verbatim (quoted strings keep quotes).

    Raises:
        SipParseError: empty parameter, bad name or bad value.
    """
    text = strip_lws(text)
    if not text:
        return Parameters()
    if _PLAIN_PARAMETERS_RE.fullmatch(text) is not None:
        plain: list[tuple[str, str | None]] = []
        for piece in text.split(";")[1:]:
            name, equals, value = piece.partition("=")
            plain.append((strip_lws(name), strip_lws(value) if equals else None))
        return Parameters(plain)
    pieces = split_outside(text, ";")
    if strip_lws(pieces[0]):
        raise SipParseError(f"unexpected text before parameters: {text!r}")
    items: list[tuple[str, str | None]] = []
    for piece in pieces[1:]:
        name, equals, value = piece.partition("=")
        name, value = strip_lws(name), strip_lws(value)
        if not is_token(name) or (equals and _GEN_VALUE_RE.fullmatch(value) is None):
            raise SipParseError(f"bad parameter {piece!r}")
        items.append((name, value if equals else None))
    return Parameters(items)


def format_header_parameters(parameters: Parameters) -> str:
    """Format parameters as ``;name=value`` text (values verbatim)."""
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in parameters)
