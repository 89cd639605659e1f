"""Limits on SIP over TCP: how many connections, how long idle, how large.

Theory of operation. A TCP connection costs a file descriptor and a buffer
for as long as it stays open, whatever it carries, so every connection is
bounded three ways:

* **admission**: at most ``max_per_address`` connections from one address
  and ``max_connections`` in all; one more is closed as soon as it is
  accepted (:class:`Admission`), and the refusals are logged at most once
  per address per ``refusal_log_interval`` (:class:`RefusalLog`), not once
  per connection: a flood must not become a log flood;
* **time** (:class:`ConnectionDeadline`): a new connection has
  ``first_message_timeout`` to deliver a complete message; a message once
  begun has ``message_timeout`` to end (a slow sender cannot hold a
  connection by trickling bytes); a connection that has carried a message
  closes after ``idle_timeout`` without a byte. Keep-alive CRLFs
  (RFC 5626 §4.4.1) are bytes: a phone that pings stays connected;
* **size**: a message's header section and body are bounded (the framer's
  limits), so the buffer of one connection is too.

The default idle timeout is longer than the longest registration interval
(3600 s): a phone registered over TCP that sends no keep-alives keeps its
connection until it registers again, and calls can reach it through it.

Everything here is pure: the glue (:mod:`.tcp`) passes the loop's ``now``.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

__all__ = ["Admission", "ConnectionDeadline", "Refusal", "RefusalLog", "TcpLimits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpLimits:
    """The bounds of SIP over TCP (seconds, connections, bytes)."""

    first_message_timeout: float = 30.0
    """A new connection closes unless a complete message arrives within this."""
    message_timeout: float = 30.0
    """A message begun must end within this (against slow senders)."""
    idle_timeout: float = 3900.0
    """A connection that has carried messages closes after this without a byte."""
    max_per_address: int = 256
    """Connections open at once from one address (raise it for a larger NAT)."""
    max_connections: int = 4096
    """Connections open at once in all (keep below the open-files limit)."""
    max_head_size: int = 16384
    """The largest start line and header section of one message."""
    max_body_size: int = 65536
    """The largest body (Content-Length) of one message."""
    refusal_log_interval: float = 60.0
    """Refused connections are logged at most this often per address."""
    connect_timeout: float = 10.0
    """A connection this server opens (to a phone whose own is gone) must be up within this."""


class Refusal(enum.StrEnum):
    """Why a new connection was closed at once."""

    PER_ADDRESS = "per-address cap"
    TOTAL = "total cap"


class Admission:
    """Counts the open connections, per address and in all."""

    def __init__(self, limits: TcpLimits) -> None:
        self._limits = limits
        self._per_address: Counter[str] = Counter()
        self._total = 0

    @property
    def total(self) -> int:
        """Connections admitted and not yet released."""
        return self._total

    def admit(self, address: str) -> Refusal | None:
        """Count a new connection from ``address``, or say why it is refused."""
        if self._total >= self._limits.max_connections:
            return Refusal.TOTAL
        if self._per_address[address] >= self._limits.max_per_address:
            return Refusal.PER_ADDRESS
        self._per_address[address] += 1
        self._total += 1
        return None

    def release(self, address: str) -> None:
        """An admitted connection from ``address`` closed."""
        self._total -= 1
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]


class RefusalLog:
    """Decides when refusals from an address are worth a log line."""

    _MAX_ADDRESSES = 10_000
    """Addresses remembered before the quiet ones are forgotten."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def refused(self, address: str, now: float) -> int | None:
        """Note a refusal; the refusals to report now (this one included), or None."""
        self._unlogged[address] += 1
        last = self._last.get(address)
        if last is not None and now - last < self._interval:
            return None
        if len(self._last) >= self._MAX_ADDRESSES:
            self._forget_before(now - self._interval)
        self._last[address] = now
        return self._unlogged.pop(address)

    def _forget_before(self, horizon: float) -> None:
        for address in [a for a, when in self._last.items() if when < horizon]:
            del self._last[address]
            self._unlogged.pop(address, None)


class ConnectionDeadline:
    """When one connection is to be closed, from what it has received."""

    def __init__(self, limits: TcpLimits, opened: float) -> None:
        self._limits = limits
        self._opened = opened
        self._last_byte = opened
        self._message_since: float | None = None
        self.established = False
        """A complete message has arrived on the connection."""

    def received(self, now: float, *, messages: int, pending: bool) -> None:
        """Bytes arrived: ``messages`` complete ones, ``pending`` an unfinished one."""
        self._last_byte = now
        if messages:
            self.established = True
            self._message_since = None
        if not pending:
            self._message_since = None
        elif self._message_since is None:
            self._message_since = now

    def deadline(self) -> float:
        """The time at which the connection is closed if nothing changes."""
        limits = self._limits
        if self.established:
            due = self._last_byte + limits.idle_timeout
        else:
            due = self._opened + limits.first_message_timeout
        if self._message_since is not None:
            due = min(due, self._message_since + limits.message_timeout)
        return due
