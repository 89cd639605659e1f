"""A bounded memo of parse results, keyed by the exact text parsed.

Why: phones repeat themselves. Every REGISTER of a phone carries the same
Request-URI, To, From URI and Contact; every request to this server has the
same Request-URI. URIs and name-addresses are immutable values, so parsing
one text once and sharing the result is safe, and it takes the regular
expressions of RFC 3261's grammar off the hot path. The memo is bounded
because the texts come from the network: when full it is emptied (a burst
of new texts costs one re-parse each, never unbounded memory). Only
successful parses are stored, so invalid input is judged anew every time.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["ParseMemo"]

T = TypeVar("T")


class ParseMemo(Generic[T]):
    """Text -> parsed value, at most ``size`` entries."""

    __slots__ = ("_size", "_values")

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: dict[str, T] = {}

    def get(self, text: str) -> T | None:
        """Return the value parsed from ``text`` before, or None."""
        return self._values.get(text)

    def put(self, text: str, value: T) -> T:
        """Remember ``value`` as the parse of ``text``; return it."""
        values = self._values
        if len(values) >= self._size:
            values.clear()
        values[text] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
