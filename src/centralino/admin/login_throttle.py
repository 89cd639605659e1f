"""The login throttle: growing delays per account and per address.

Theory of operation. Two tables count attempts: one by user name (known or
not: the throttle must not tell which names exist), one by client address.
An attempt is *admitted* only when neither of its counters asks it to wait;
an admitted attempt is counted at once, as a failure, before the password is
even checked, so that a burst of parallel guesses is counted as it arrives.
A success takes its own attempt back from both counters (it was no failure)
and makes the pair (user name, address) *trusted*: that user name, from that
address, is no longer held back by its account's counter. An attacker
guessing the owner's password from elsewhere therefore cannot lock the owner
out of their own desk; only their own address and the names they guess at
slow down. A success does not wipe the earlier failures: otherwise each of
the owner's logins would hand an attacker a fresh set of free guesses (and
an attacker's own valid account would reset their address between guesses).

After ``free_failures`` counted failures a counter asks each further attempt
to wait ``first_delay`` seconds after the previous one, then twice that, and
so on up to ``max_delay``. Counters idle for ``forget_after`` seconds are
forgotten; each table keeps at most ``max_entries`` (the oldest go first), so
a flood of invented names or addresses costs bounded memory.

The class is pure: the time ``now`` (seconds, any epoch) is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["LoginThrottle", "ThrottlePolicy"]

K = TypeVar("K")


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    """How many failures are free, how the delay grows, how long things are kept."""

    free_failures: int = 5
    first_delay: float = 1.0
    max_delay: float = 300.0
    forget_after: float = 3600.0
    trusted_for: float = 30 * 86400.0
    max_entries: int = 10_000

    def delay(self, failures: int) -> float:
        """The wait after the last attempt once ``failures`` were counted."""
        if failures < self.free_failures:
            return 0.0
        steps = min(failures - self.free_failures, 32)
        return float(min(self.max_delay, self.first_delay * 2**steps))


@dataclass(slots=True)
class _Counter:
    failures: int
    last: float


class _Table(Generic[K]):
    """Counters by key, oldest first, bounded in size and in age."""

    def __init__(self, policy: ThrottlePolicy) -> None:
        self._policy = policy
        self._counters: dict[K, _Counter] = {}

    def wait(self, key: K, now: float) -> float:
        counter = self._counters.get(key)
        if counter is None:
            return 0.0
        return max(0.0, counter.last + self._policy.delay(counter.failures) - now)

    def count(self, key: K, now: float) -> None:
        counter = self._counters.pop(key, None) or _Counter(failures=0, last=now)
        counter.failures, counter.last = counter.failures + 1, now
        self._counters[key] = counter  # to the young end
        self._prune(now)

    def take_back(self, key: K) -> None:
        counter = self._counters.get(key)
        if counter is not None:
            counter.failures = max(0, counter.failures - 1)

    def _prune(self, now: float) -> None:
        horizon = now - self._policy.forget_after
        while self._counters:
            oldest_key, oldest = next(iter(self._counters.items()))
            if oldest.last > horizon and len(self._counters) <= self._policy.max_entries:
                return
            del self._counters[oldest_key]


class LoginThrottle:
    """Admits or holds back login attempts (see the module's theory of operation)."""

    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self._policy = policy or ThrottlePolicy()
        self._accounts = _Table[str](self._policy)
        self._addresses = _Table[str](self._policy)
        self._trusted: dict[tuple[str, str], float] = {}

    def admit(self, username: str, address: str, now: float) -> float:
        """Admit an attempt (counted as a failure until :meth:`succeeded`).

        Returns:
            0.0 when admitted, else the seconds to wait (the attempt is not counted).
        """
        wait = self._addresses.wait(address, now)
        if not self._is_trusted(username, address, now):
            wait = max(wait, self._accounts.wait(username, now))
        if wait > 0:
            return wait
        self._addresses.count(address, now)
        self._accounts.count(username, now)
        return 0.0

    def succeeded(self, username: str, address: str, now: float) -> None:
        """The admitted attempt was right: take it back, trust the pair."""
        self._accounts.take_back(username)
        self._addresses.take_back(address)
        self._trusted.pop((username, address), None)
        self._trusted[(username, address)] = now + self._policy.trusted_for
        while len(self._trusted) > self._policy.max_entries:
            del self._trusted[next(iter(self._trusted))]

    def withdraw(self, username: str, address: str) -> None:
        """The admitted attempt was never checked (the server was busy): take it back."""
        self._accounts.take_back(username)
        self._addresses.take_back(address)

    def _is_trusted(self, username: str, address: str, now: float) -> bool:
        until = self._trusted.get((username, address))
        return until is not None and until > now
