"""The registrar's binding table: the pure rules of RFC 3261 §10.3.

Theory of operation. A REGISTER is turned into a :class:`RegisterRequest`
(its contacts with the expiry each asked for, its Call-ID and CSeq, where it
came from) and applied to the :class:`BindingTable` at ``now``. The table
answers with a :class:`RegisterOutcome`: the status to send (200, 400, 423
with Min-Expires, 500 for an out-of-order CSeq, 403 when too many contacts)
and the extension's bindings afterwards. The change is all or nothing: the
request is checked whole before any binding moves (§10.3 step 7).

* Expiry (§10.2.1.1, §10.3 step 6): the Contact's ``expires`` parameter,
  else the Expires header, else the default. Zero removes; below the
  minimum (but not zero) is refused with 423 and ``Min-Expires``; above the
  maximum is cut down to it.
* Matching (§10.3 step 7): a contact matches a binding whose URI is equal by
  the rules of §19.1.4. Same Call-ID with a CSeq not above the binding's
  aborts the request (500); otherwise the binding is updated or removed.
* ``Contact: *`` with Expires 0 removes every binding (§10.2.2).
* Bindings expire by time: reading filters them, :meth:`BindingTable.expire`
  removes them and says which extensions changed.

Nothing here reads the clock or does I/O: ``now`` is an aware datetime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from centralino.domain.location import Binding
from centralino.sip.uri import Uri

__all__ = [
    "BindingTable",
    "ContactRequest",
    "ExpiryPolicy",
    "RegisterOutcome",
    "RegisterRequest",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryPolicy:
    """Registration interval bounds, in seconds."""

    minimum: int = 60
    maximum: int = 3600
    default: int = 3600
    max_contacts: int = 10

    def expiry_of(self, asked: int | None, header: int | None) -> int:
        """The interval granted for a contact (before the 423 check)."""
        wanted = asked if asked is not None else header
        if wanted is None:
            wanted = self.default
        return min(wanted, self.maximum)

    def too_brief(self, seconds: int) -> bool:
        """Whether ``seconds`` is refused with 423 (zero means remove: allowed)."""
        return 0 < seconds < self.minimum


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRequest:
    """One Contact of a REGISTER: its URI and the ``expires`` it carries."""

    uri: Uri
    expires: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterRequest:
    """What the table needs from one REGISTER."""

    number: str
    contacts: Sequence[ContactRequest] = ()
    remove_all: bool = False
    """``Contact: *``."""
    expires_header: int | None = None
    call_id: str
    cseq: int
    transport: str
    host: str
    port: int
    user_agent: str = ""
    auth_user: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterOutcome:
    """The answer to a REGISTER and the bindings it leaves."""

    status: int
    reason: str | None = None
    bindings: Sequence[Binding] = ()
    min_expires: int | None = None
    changed: bool = False
    refreshed: bool = False
    """Only expiries moved later (same contacts, same addresses): a refresh.

    What is stored stays right for routing until its older expiry, so a
    refresh may be written later than a change."""


@dataclass(slots=True)
class _Entry:
    uri: Uri
    binding: Binding


class BindingTable:
    """Every extension's bindings, with the RFC 3261 §10.3 update rules."""

    def __init__(self, policy: ExpiryPolicy | None = None) -> None:
        self.policy = policy or ExpiryPolicy()
        self._entries: dict[str, list[_Entry]] = {}

    def current(self, number: str, now: dt.datetime) -> list[Binding]:
        """The unexpired bindings of ``number``."""
        return [e.binding for e in self._entries.get(number, ()) if not e.binding.expired(now)]

    def numbers(self) -> list[str]:
        """Every extension with at least one binding (maybe expired)."""
        return list(self._entries)

    def load(self, bindings: Sequence[Binding], now: dt.datetime) -> None:
        """Put stored bindings back (after a restart), skipping expired ones."""
        for binding in bindings:
            if not binding.expired(now):
                uri = Uri.parse(binding.contact)
                self._entries.setdefault(binding.number, []).append(_Entry(uri, binding))

    def remove_all(self, number: str) -> list[Binding]:
        """Forget every binding of ``number``; return them."""
        return [entry.binding for entry in self._entries.pop(number, [])]

    def expire(self, now: dt.datetime) -> list[str]:
        """Drop expired bindings; return the numbers whose bindings changed."""
        changed: list[str] = []
        for number, entries in list(self._entries.items()):
            alive = [entry for entry in entries if not entry.binding.expired(now)]
            if len(alive) != len(entries):
                changed.append(number)
                self._set(number, alive)
        return changed

    def apply(self, request: RegisterRequest, now: dt.datetime) -> RegisterOutcome:
        """Apply one REGISTER at ``now`` (all or nothing)."""
        if request.remove_all:
            return self._remove_everything(request, now)
        granted = [
            (c.uri, self.policy.expiry_of(c.expires, request.expires_header))
            for c in request.contacts
        ]
        brief = [seconds for _, seconds in granted if self.policy.too_brief(seconds)]
        if brief:
            return RegisterOutcome(status=423, min_expires=self.policy.minimum)
        entries = [e for e in self._entries.get(request.number, []) if not e.binding.expired(now)]
        for uri, seconds in granted:
            entries_or_error = _update(entries, uri, seconds, request, now)
            if isinstance(entries_or_error, RegisterOutcome):
                return entries_or_error
            entries = entries_or_error
        if len(entries) > self.policy.max_contacts:
            return RegisterOutcome(status=403, reason="Too many contacts")
        before = self._entries.get(request.number, [])
        self._set(request.number, entries)
        bindings = [entry.binding for entry in entries]
        return RegisterOutcome(
            status=200,
            bindings=bindings,
            changed=bool(granted),
            refreshed=bool(granted) and _only_later(before, entries),
        )

    def _remove_everything(self, request: RegisterRequest, now: dt.datetime) -> RegisterOutcome:
        if request.contacts or request.expires_header != 0:
            return RegisterOutcome(status=400, reason="Contact * needs Expires: 0 alone")
        for entry in self._entries.get(request.number, []):
            binding = entry.binding
            if binding.call_id == request.call_id and binding.cseq >= request.cseq:
                return RegisterOutcome(status=500, reason="Out of order CSeq")
        self._entries.pop(request.number, None)
        return RegisterOutcome(status=200, changed=True)

    def _set(self, number: str, entries: list[_Entry]) -> None:
        if entries:
            self._entries[number] = entries
        else:
            self._entries.pop(number, None)


def _only_later(before: list[_Entry], after: list[_Entry]) -> bool:
    """Whether ``after`` holds the same contacts at the same addresses, none expiring sooner."""
    if len(before) != len(after):
        return False
    old = {_place(entry.binding): entry.binding.expires_at for entry in before}
    for entry in after:
        expires_at = old.get(_place(entry.binding))
        if expires_at is None or entry.binding.expires_at < expires_at:
            return False
    return True


def _place(binding: Binding) -> tuple[str, str, str, int]:
    return (binding.contact, binding.transport, binding.host, binding.port)


def _update(
    entries: list[_Entry], uri: Uri, seconds: int, request: RegisterRequest, now: dt.datetime
) -> list[_Entry] | RegisterOutcome:
    """The entries after one contact of ``request`` (a new list), or a refusal."""
    kept: list[_Entry] = []
    since = now
    for entry in entries:
        if entry.uri == uri:
            old = entry.binding
            if old.call_id == request.call_id and old.cseq >= request.cseq:
                return RegisterOutcome(status=500, reason="Out of order CSeq")
            since = old.registered_at
        else:
            kept.append(entry)
    if seconds > 0:
        kept.append(_Entry(uri, _binding(uri, seconds, request, now, since)))
    return kept


def _binding(
    uri: Uri, seconds: int, request: RegisterRequest, now: dt.datetime, since: dt.datetime
) -> Binding:
    return Binding(
        number=request.number,
        contact=str(uri),
        transport=request.transport,
        host=request.host,
        port=request.port,
        expires_at=now + dt.timedelta(seconds=seconds),
        registered_at=since,
        call_id=request.call_id,
        cseq=request.cseq,
        user_agent=request.user_agent,
        auth_user=request.auth_user,
    )
