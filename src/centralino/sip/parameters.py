"""Ordered, case-insensitive ``;name=value`` parameter lists.

SIP attaches parameters to URIs (RFC 3261 §19.1.1) and to header field
values (``generic-param``, §25.1). Both are an ordered list of names, each
with an optional value; names compare case-insensitively (§7.3.1). The
class is immutable: ``with_value`` and ``without`` return new lists.
Values are kept as given (for header parameters a quoted string keeps its
quotes) so that formatting reproduces the parsed text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Parameters"]


class Parameters:
    """An immutable ordered list of ``(name, value or None)`` pairs."""

    __slots__ = ("_items", "_positions")

    def __init__(self, items: Iterable[tuple[str, str | None]] = ()) -> None:
        self._items: tuple[tuple[str, str | None], ...] = tuple(items)
        self._positions: dict[str, int] | None = None  # folded name -> first index

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._index(name) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Parameters):
            return NotImplemented
        return self._folded() == other._folded()

    def __hash__(self) -> int:
        return hash(self._folded())

    def __repr__(self) -> str:
        return f"Parameters({list(self._items)!r})"

    def _folded(self) -> tuple[tuple[str, str | None], ...]:
        return tuple((name.lower(), value) for name, value in self._items)

    def _index(self, name: str) -> int | None:
        positions = self._positions
        if positions is None:
            positions = self._positions = {}
            for position, (key, _) in enumerate(self._items):
                positions.setdefault(key.lower(), position)
        # Callers mostly ask with the lower-case name: try it before folding.
        index = positions.get(name)
        return positions.get(name.lower()) if index is None else index

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of ``name`` (None for a valueless flag).

        Args:
            name: parameter name, any case.
            default: returned when the parameter is absent.

        Returns:
            The value, None if present without value, else ``default``.
        """
        index = self._index(name)
        return default if index is None else self._items[index][1]

    def with_value(self, name: str, value: str | None) -> Parameters:
        """Return a copy where ``name`` is set (replaced in place or appended)."""
        return self.with_values(((name, value),))

    def with_values(self, values: Iterable[tuple[str, str | None]]) -> Parameters:
        """Return a copy where each ``(name, value)`` is set, in order."""
        items = list(self._items)
        appended: dict[str, int] = {}  # folded name -> index, for names new here
        for name, value in values:
            index = self._index(name)
            if index is None:
                index = appended.get(name.lower())
            if index is None:
                appended[name.lower()] = len(items)
                items.append((name, value))
            else:
                items[index] = (items[index][0], value)
        return Parameters(items)

    def without(self, name: str) -> Parameters:
        """Return a copy with every occurrence of ``name`` removed."""
        folded = name.lower()
        return Parameters(item for item in self._items if item[0].lower() != folded)

    def names(self) -> list[str]:
        """Return the lower-cased parameter names, in order."""
        return [name.lower() for name, _ in self._items]
