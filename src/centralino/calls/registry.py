"""The live calls: by id, by dialog, by the caller's INVITE, by extension.

Theory of operation. Requests inside a call (ACK, BYE, re-INVITE) name their
dialog by Call-ID and tags; the registry maps our side of each leg's dialog,
``(Call-ID, our tag)``, to the call and the side it is on. Since every leg
has its own Call-ID and we choose our tags, that pair is unique without the
peer's tag, which a phone learns only later. A CANCEL names the caller's
INVITE transaction (branch and sent-by), kept while the call rings.

The registry is also the :class:`~centralino.domain.calls.LiveCalls` port:
the API lists its calls and admission counts an extension's calls with it.
A call adds itself when it starts and removes itself (every key) when it
ends, on every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from centralino.calls.ports import Side
from centralino.domain.calls import LiveCall


class Registered(Protocol):
    """What the registry needs of a call."""

    @property
    def id(self) -> str:
        """The call's identifier."""
        ...

    @property
    def parties(self) -> tuple[str, ...]:
        """The extensions taking part."""
        ...

    def snapshot(self) -> LiveCall:
        """The call as the management side sees it."""
        ...


Call = TypeVar("Call", bound=Registered)

__all__ = ["CallRegistry", "DialogKey", "InviteKey", "Registered"]


@dataclass(frozen=True, slots=True)
class DialogKey:
    """Our half of a dialog's identifier."""

    call_id: str
    local_tag: str


@dataclass(frozen=True, slots=True)
class InviteKey:
    """The caller's INVITE transaction, as its CANCEL names it (§9.2)."""

    branch: str
    sent_by: str


class CallRegistry(Generic[Call]):
    """Every call in progress, with the indexes in-dialog requests need."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}
        self._dialogs: dict[DialogKey, tuple[Call, Side]] = {}
        self._invites: dict[InviteKey, Call] = {}
        self._keys: dict[str, list[DialogKey | InviteKey]] = {}
        self._parties: dict[str, tuple[str, ...]] = {}
        self._busy: dict[str, int] = {}

    def add(self, call: Call, invite: InviteKey) -> None:
        """A call starts; ``invite`` is the caller's INVITE transaction."""
        self._calls[call.id] = call
        self._invites[invite] = call
        self._keys[call.id] = [invite]
        self.parties_changed(call)

    def index(self, call: Call, key: DialogKey, side: Side) -> None:
        """Route requests of dialog ``key`` to ``call``, on ``side``."""
        self._dialogs[key] = (call, side)
        self._keys.setdefault(call.id, []).append(key)

    def forget_invite(self, call: Call, key: InviteKey) -> None:
        """The INVITE got its final answer: a CANCEL can no longer target it."""
        if self._invites.get(key) is call:
            del self._invites[key]

    def parties_changed(self, call: Call) -> None:
        """``call.parties`` changed (a forward, an answer): recount the extensions' calls."""
        for number in self._parties.pop(call.id, ()):
            self._count(number, -1)
        if call.id in self._calls:
            self._parties[call.id] = call.parties
            for number in call.parties:
                self._count(number, +1)

    def _count(self, number: str, change: int) -> None:
        count = self._busy.get(number, 0) + change
        if count > 0:
            self._busy[number] = count
        else:
            self._busy.pop(number, None)

    def remove(self, call: Call) -> None:
        """The call ended: drop it and every key pointing at it."""
        self._calls.pop(call.id, None)
        self.parties_changed(call)
        for key in self._keys.pop(call.id, []):
            if isinstance(key, DialogKey):
                self._dialogs.pop(key, None)
            else:
                self._invites.pop(key, None)

    def by_dialog(self, key: DialogKey) -> tuple[Call, Side] | None:
        """The call and side of an in-dialog request, if known."""
        return self._dialogs.get(key)

    def get(self, call_id: str) -> Call | None:
        """The call in progress with this id, if any."""
        return self._calls.get(call_id)

    def by_invite(self, key: InviteKey) -> Call | None:
        """The ringing call a CANCEL targets, if any."""
        return self._invites.get(key)

    def ids(self) -> list[str]:
        """The ids of the calls in progress."""
        return list(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    # The LiveCalls port ----------------------------------------------------

    def calls(self) -> Sequence[LiveCall]:
        """Every call not yet ended, oldest first."""
        return [call.snapshot() for call in self._calls.values()]

    def calls_in_progress(self, number: str) -> int:
        """How many live calls extension ``number`` takes part in."""
        return self._busy.get(number, 0)

    def dialog_count(self) -> int:
        """How many dialog keys are indexed (a leak check for tests)."""
        return len(self._dialogs) + len(self._invites)
