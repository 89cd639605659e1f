"""Throttling of failed authentications: per (address, user) and per address.

Theory of operation. Password guessing against a PBX is constant on the
Internet, and a defence that blocks a whole source address punishes every
phone behind it (an office NAT) and, over UDP, anyone who can forge that
address. So the throttle blocks an address only for *what it fails at*:

* **a pair** (address, user) with ``user_failures`` failures within
  ``window`` seconds is blocked: that user name from that address is refused,
  every other name from it still works (one phone with a wrong password, or
  a guesser with one name);
* **an address** from which ``address_users`` different user names failed
  within the window (enumeration, password spraying), or ``address_failures``
  failures in all, is blocked for every user name *but the proven ones*;
* **a proven pair** (the user authenticated correctly from that address
  within ``proven_for`` seconds; every success renews it) is never refused by
  an address block, and is blocked as a pair only past ``proven_failures``
  failures within the window, a much higher bar. Its phone keeps working
  while a guesser on the same address (the same NAT) tries other names, or
  guesses its password slowly.

Forged sources are handled one step earlier: the authenticator binds each
nonce to the address it was issued to (``sip.digest.NonceManager`` scope),
so credentials that answer a nonce issued elsewhere (or no nonce of ours)
are re-challenged and never counted. A forger who cannot receive the
office's answers cannot make one failure count against the office; only a
host that really holds the address can, and it meets the bars above.

**Trusted** addresses (``trusted=True``: the ``security.trusted_networks``
setting, by default the local networks) are rate-limited, never blocked: when
they pass a bar they are refused for ``trusted_pause`` seconds only, the
pause never grows and is not listed.

**Repeat offenders** wait longer: a block that starts within
``offence_memory`` seconds of the end of the previous block of the same
address or pair lasts twice as long, up to ``max_block``.

A block's failures are cleared when it starts (but for proven names, which
keep counting towards their own bar), so when it ends the address (or pair)
starts afresh; :meth:`Throttle.unblock` (an administrator) lifts
every block of an address and forgets its failures and offences.

Memory is bounded: failure times older than the window are dropped, each
address keeps at most ``max_users`` failing names and ``max_proven`` proven
names, and the table never holds more than ``max_addresses`` addresses (the
stalest without a block go first; then, as a last resort, the stalest).

The class is pure: ``now`` (float seconds, wall clock) is always an argument.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Block", "Throttle", "ThrottlePolicy"]

_ADDRESS: None = None
"""The hold key of a whole address (a pair's key is its user name)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    """The bars and durations of the throttle (seconds and counts)."""

    window: float = 60.0
    user_failures: int = 10
    address_users: int = 5
    address_failures: int = 30
    proven_for: float = 7200.0
    proven_failures: int = 100
    block_for: float = 300.0
    max_block: float = 86400.0
    offence_memory: float = 86400.0
    trusted_pause: float = 10.0
    max_addresses: int = 100_000
    max_users: int = 64
    max_proven: int = 1000

    def __post_init__(self) -> None:
        counts = (self.user_failures, self.address_users, self.address_failures)
        if min(counts) < 1 or self.proven_failures < self.user_failures:
            raise ValueError("failure bars must be positive, the proven bar the highest")
        if min(self.window, self.block_for, self.trusted_pause) <= 0:
            raise ValueError("window and block durations must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """An address (``user`` None) or a pair refused from ``since`` until ``until``."""

    address: str
    user: str | None
    failures: int
    since: float
    until: float
    trusted: bool = False
    """A trusted address's short pause: not a block, not listed."""


@dataclass(slots=True)
class _Record:
    failures: dict[str, deque[float]] = field(default_factory=dict)
    """Failure times by user name, within the window; the last failing name last."""
    proven: dict[str, float] = field(default_factory=dict)
    """Last success by user name; the most recent last."""
    holds: dict[str | None, Block] = field(default_factory=dict)
    offences: dict[str | None, tuple[int, float]] = field(default_factory=dict)
    """(blocks in a row, end of the last one), per hold key."""


class Throttle:
    """Counts failed authentications and decides who is refused."""

    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy if policy is not None else ThrottlePolicy()
        self._records: dict[str, _Record] = {}
        self._held: set[str] = set()

    # Questions ----------------------------------------------------------------------

    def refuses(self, address: str, user: str | None, now: float) -> bool:
        """Whether a request from ``address`` naming ``user`` is refused at ``now``.

        ``user`` None: a request without credentials; it is refused only when
        the whole address is blocked and no user name is proven there (a
        proven phone must still be challenged).
        """
        record = self._records.get(address)
        if record is None or not record.holds:
            return False
        self._expire(address, record, now)
        if user is None:
            return _ADDRESS in record.holds and not self._any_proven(record, now)
        if user in record.holds:
            return True
        return _ADDRESS in record.holds and not self._proven(record, user, now)

    def blocked(self, now: float) -> list[Block]:
        """Every block in force at ``now`` (trusted pauses left out), by address."""
        found: list[Block] = []
        for address in sorted(self._held):
            record = self._records[address]
            self._expire(address, record, now)
            found += [hold for hold in record.holds.values() if not hold.trusted]
        return found

    def next_expiry(self) -> float | None:
        """When the earliest block ends, or None without blocks."""
        ends = [h.until for a in self._held for h in self._records[a].holds.values()]
        return min(ends, default=None)

    def __len__(self) -> int:
        return len(self._records)

    # Facts --------------------------------------------------------------------------

    def record_success(self, address: str, user: str, now: float) -> None:
        """``user`` authenticated correctly from ``address``: it is proven there."""
        record = self._touch(address)
        record.proven.pop(user, None)
        record.proven[user] = now
        if len(record.proven) > self.policy.max_proven:
            del record.proven[next(iter(record.proven))]
        self._trim(now)

    def record_failure(
        self, address: str, user: str, now: float, *, trusted: bool = False
    ) -> Block | None:
        """Count one failed authentication of ``user`` from ``address``.

        Returns:
            The block (or trusted pause) this failure starts, else None.
        """
        policy = self.policy
        record = self._touch(address)
        times = record.failures.pop(user, None) or deque()
        record.failures[user] = times
        times.append(now)
        if len(times) > policy.proven_failures:
            times.popleft()
        self._forget_old_failures(record, now)
        self._expire(address, record, now)
        block = self._judge(address, record, user, now, trusted)
        self._trim(now)
        return block

    def unblock(self, address: str, now: float) -> list[Block]:
        """Lift every block of ``address``; forget its failures and offences.

        Returns:
            The blocks that were in force (empty: the address was not blocked).
        """
        record = self._records.get(address)
        if record is None:
            return []
        self._expire(address, record, now)
        lifted = [hold for hold in record.holds.values() if not hold.trusted]
        record.holds.clear()
        record.failures.clear()
        record.offences.clear()
        self._held.discard(address)
        return lifted

    # Internals ----------------------------------------------------------------------

    def _judge(
        self, address: str, record: _Record, user: str, now: float, trusted: bool
    ) -> Block | None:
        policy = self.policy
        times = record.failures[user]
        bar = policy.proven_failures if self._proven(record, user, now) else policy.user_failures
        if user not in record.holds and len(times) >= bar:
            return self._hold(address, record, user, len(times), now, trusted)
        total = sum(len(t) for t in record.failures.values())
        spread = len(record.failures) >= policy.address_users
        if _ADDRESS not in record.holds and (spread or total >= policy.address_failures):
            return self._hold(address, record, _ADDRESS, total, now, trusted)
        return None

    def _hold(
        self,
        address: str,
        record: _Record,
        key: str | None,
        failures: int,
        now: float,
        trusted: bool,
    ) -> Block:
        policy = self.policy
        if trusted:
            duration = policy.trusted_pause
        else:
            count, last_end = record.offences.get(key, (0, now))
            count = count + 1 if now - last_end <= policy.offence_memory else 1
            duration = min(policy.block_for * 2 ** min(count - 1, 32), policy.max_block)
            record.offences[key] = (count, now + duration)
        block = Block(
            address=address,
            user=key,
            failures=failures,
            since=now,
            until=now + duration,
            trusted=trusted,
        )
        record.holds[key] = block
        self._held.add(address)
        if key is _ADDRESS:  # proven names keep counting towards their own bar
            for user in [u for u in record.failures if not self._proven(record, u, now)]:
                del record.failures[user]
        else:
            record.failures.pop(key, None)
        return block

    def _expire(self, address: str, record: _Record, now: float) -> None:
        for key in [key for key, hold in record.holds.items() if hold.until <= now]:
            del record.holds[key]
        if not record.holds:
            self._held.discard(address)

    def _proven(self, record: _Record, user: str, now: float) -> bool:
        last = record.proven.get(user)
        return last is not None and now - last < self.policy.proven_for

    def _any_proven(self, record: _Record, now: float) -> bool:
        return any(now - last < self.policy.proven_for for last in record.proven.values())

    def _forget_old_failures(self, record: _Record, now: float) -> None:
        horizon = now - self.policy.window
        for user in list(record.failures):
            times = record.failures[user]
            while times and times[0] <= horizon:
                times.popleft()
            if not times:
                del record.failures[user]
        while len(record.failures) > self.policy.max_users:
            del record.failures[next(iter(record.failures))]  # the stalest name

    def _touch(self, address: str) -> _Record:
        record = self._records.pop(address, None) or _Record()
        self._records[address] = record  # re-inserted: most recent last
        return record

    def _trim(self, now: float) -> None:
        if len(self._records) <= self.policy.max_addresses:
            return
        for address in list(self._stalest()):
            record = self._records[address]
            self._expire(address, record, now)
            if not record.holds:
                del self._records[address]
            if len(self._records) <= self.policy.max_addresses:
                return
        while len(self._records) > self.policy.max_addresses:  # every one blocked
            address = next(iter(self._records))
            del self._records[address]
            self._held.discard(address)

    def _stalest(self) -> Iterator[str]:
        # Oldest activity first (dict order); a bounded look at the head.
        for index, address in enumerate(self._records):
            if index >= 1024:
                return
            yield address
