"""Shared lexical rules of RFC 3261 §25.1 used by every SIP parser module.

The regular expressions are named after the ABNF rules they implement.
Values inside SIP header fields nest three kinds of delimiters that hide
separators: quoted strings (with ``\\`` quoted-pairs), ``<...>`` around
URIs, and nothing else. :func:`split_outside` splits on a separator only
where it is not hidden, which is all the comma- and semicolon-splitting in
this package needs (RFC 3261 §7.3.1: a comma inside a quoted string or a
URI does not separate header field values).
"""

from __future__ import annotations

import re
import string

from .errors import SipParseError

__all__ = [
    "TOKEN",
    "WORD",
    "escape",
    "is_token",
    "quote_string",
    "split_outside",
    "strip_lws",
    "unescape",
    "unquote_string",
]

# Plain character sets (not regex classes) for escape().
ALPHANUM = string.ascii_letters + string.digits
MARK = "-_.!~*'()"
UNRESERVED = ALPHANUM + MARK
# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# word: token characters plus ( ) < > : \ " / [ ] ? { }  (RFC 3261 §25.1)
WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
_TOKEN_RE = re.compile(TOKEN)
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_LWS = " \t\r\n"


def is_token(text: str) -> bool:
    """Tell whether ``text`` matches the ``token`` rule.

    Args:
        text: candidate text.

    Returns:
        True when every character is a token character and text is non-empty.
    """
    return _TOKEN_RE.fullmatch(text) is not None


def strip_lws(text: str) -> str:
    """Strip linear white space (SP, HTAB and unfolded CRLF) from both ends."""
    return text.strip(_LWS)


def split_outside(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` outside quoted strings and ``<>``.

    Args:
        text: a header field value (already unfolded).
        separator: one character, usually ``,`` or ``;``.

    Returns:
        The pieces, unstripped, in order (one piece when no separator).

    Raises:
        SipParseError: a quoted string or an angle bracket is left open.
    """
    if '"' not in text:
        if "<" not in text and ">" not in text:
            return text.split(separator)  # the common case: nothing to step over
        if separator not in text:
            # One piece (a Contact, a From): only an angle bracket left open
            # is wrong, i.e. the last one seen opens.
            if text.rfind("<") > text.rfind(">"):
                raise SipParseError(f"unbalanced quote or angle bracket in {text!r}")
            return [text]
    pieces: list[str] = []
    start = 0
    in_quotes = in_angle = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_quotes:
            if char == "\\":
                index += 1
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == separator and not in_angle:
            pieces.append(text[start:index])
            start = index + 1
        index += 1
    if in_quotes or in_angle:
        raise SipParseError(f"unbalanced quote or angle bracket in {text!r}")
    pieces.append(text[start:])
    return pieces


def unquote_string(text: str) -> str:
    """Decode a ``quoted-string`` (with its quotes) into its content.

    Args:
        text: the quoted string including both double quotes.

    Returns:
        The content with quoted-pairs resolved (``\\x`` becomes ``x``).

    Raises:
        SipParseError: not a well-formed quoted string.
    """
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise SipParseError(f"not a quoted string: {text!r}")
    body = text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            if index + 1 >= len(body):
                raise SipParseError("dangling backslash in quoted string")
            out.append(body[index + 1])
            index += 2
            continue
        if char == '"':
            raise SipParseError("unescaped quote inside quoted string")
        out.append(char)
        index += 1
    return "".join(out)


def quote_string(text: str) -> str:
    """Encode ``text`` as a ``quoted-string``, escaping ``\\`` and ``"``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    # RFC 3261 §25.1 quoted-pair excludes CR and LF: they cannot be carried.
    escaped = escaped.replace("\r", "").replace("\n", "")
    return f'"{escaped}"'


def unescape(text: str) -> str:
    """Resolve ``%HH`` escapes (RFC 3261 §19.1.2) into characters.

    Bytes that are not UTF-8 survive as surrogate escapes so that
    :func:`escape` restores them exactly.
    """
    if "%" not in text:
        return text
    raw = _ESCAPE_RE.sub(lambda match: chr(0xDC00 + int(match.group(1), 16)), text)
    data = b"".join(
        bytes([ord(char) - 0xDC00]) if 0xDC00 <= ord(char) <= 0xDCFF else char.encode("utf-8")
        for char in raw
    )
    return data.decode("utf-8", "surrogateescape")


def escape(text: str, safe: str) -> str:
    """Percent-encode every character of ``text`` not in ``safe``.

    Args:
        text: unescaped text (may hold surrogate escapes from :func:`unescape`).
        safe: the ASCII characters allowed literally in this URI component.

    Returns:
        The escaped component.
    """
    out: list[str] = []
    for char in text:
        if char in safe and char.isascii():
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogateescape"))
    return "".join(out)
