"""Throttling of repeated failed authentications, per source address.

Theory of operation. Password guessing against a PBX is constant on the
Internet. Every failed digest authentication (a wrong password, an unknown
user, malformed credentials) is recorded against the source IP with the time
it happened. When an address reaches ``max_failures`` within ``window``
seconds it is *blocked* for ``block_for`` seconds: its requests are refused
before any digest work. The counts of an address are forgotten once it has
been quiet for a whole window, and the table never holds more than
``max_addresses`` addresses (the stalest go first), so a scan from many
addresses cannot exhaust memory.

The class is pure: ``now`` (float seconds, wall clock) is always an argument.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Block", "Throttle"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """An address blocked until ``until`` after ``failures`` failures."""

    address: str
    failures: int
    until: float


@dataclass(slots=True)
class _Record:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float | None = None


class Throttle:
    """Counts failures per address and blocks addresses that fail too often."""

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: float = 60.0,
        block_for: float = 300.0,
        max_addresses: int = 100_000,
    ) -> None:
        if max_failures < 1 or window <= 0 or block_for <= 0:
            raise ValueError("max_failures, window and block_for must be positive")
        self.max_failures = max_failures
        self.window = window
        self.block_for = block_for
        self._max_addresses = max_addresses
        self._records: dict[str, _Record] = {}

    def is_blocked(self, address: str, now: float) -> bool:
        """Whether requests from ``address`` are refused at ``now``."""
        record = self._records.get(address)
        if record is None or record.blocked_until is None:
            return False
        if record.blocked_until > now:
            return True
        del self._records[address]  # the block is over: start afresh
        return False

    def record_failure(self, address: str, now: float) -> Block | None:
        """Count one failed authentication from ``address``.

        Returns:
            The new block when this failure blocks the address, else None.
        """
        record = self._records.pop(address, None) or _Record()
        self._records[address] = record  # re-inserted: most recent last
        failures = record.failures
        failures.append(now)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if record.blocked_until is None and len(failures) >= self.max_failures:
            record.blocked_until = now + self.block_for
            return Block(address=address, failures=len(failures), until=record.blocked_until)
        if len(failures) > self.max_failures:
            failures.popleft()  # a blocked address keeps a bounded history
        self._trim(now)
        return None

    def blocked(self, now: float) -> list[Block]:
        """Every address blocked at ``now``."""
        return [
            Block(address=address, failures=len(record.failures), until=record.blocked_until)
            for address, record in self._records.items()
            if record.blocked_until is not None and record.blocked_until > now
        ]

    def __len__(self) -> int:
        return len(self._records)

    def _trim(self, now: float) -> None:
        if len(self._records) <= self._max_addresses:
            return
        # Oldest activity first (dict order): drop quiet, unblocked addresses.
        for address in list(self._records):
            if len(self._records) <= self._max_addresses:
                return
            record = self._records[address]
            if record.blocked_until is None or record.blocked_until <= now:
                del self._records[address]
