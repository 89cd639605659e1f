"""Calls to and from the outside world: what the call core knows of trunks.

Theory of operation. The core rings an outside number the way it rings a
phone: a :class:`~.ring.RingRound` forks one INVITE per target, and an
:class:`OutsideRoute` is a target like a registered contact — a trunk's
address, the Request-URI and number in the trunk's format, the caller ID to
present and the account that answers the provider's digest challenges. The
glue decides the routes (outbound rules, trunks up or down, restrictions,
emergency numbers) behind the :class:`Outside` port; the core tries them in
turn (:class:`Attempts`; :func:`centralino.routing.outbound.failover`: the
next trunk after a 408, a 5xx, a failed challenge or a timeout, never after
another 4xx or a 6xx, which speak for the number, not the trunk).

A party outside the PBX (an inbound caller, an outbound callee) is seen by
the core and the PBX's applications through the same shape as an extension
(:func:`outside_party`): its number and name, every option at its default.
That keeps the call's two ends one type; nothing of an outside party is
ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from centralino.domain.call_records import CallDirection
from centralino.domain.extension import Extension
from centralino.sip.peer import Peer
from centralino.sip.uri import Uri

__all__ = [
    "Attempts",
    "CallDirection",
    "NoOutside",
    "Outside",
    "OutsidePlan",
    "OutsideRefusal",
    "OutsideRoute",
    "outside_party",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsideRoute:
    """One way to reach an outside number: a trunk, and what to send it."""

    trunk: str
    peer: Peer
    target: Uri
    """The Request-URI: ``sip:<number>@<provider>``."""
    number: str
    """The number as the trunk wants it."""
    dialled: str = ""
    """The same number as the PBX shows it (E.164 when it reads so): for records."""
    caller_id: str
    """The number presented as the caller (the From user)."""
    caller_name: str = ""
    from_host: str = ""
    """The From and To host ('' : the provider's host)."""
    username: str | None = None
    """The account answering the provider's challenges (None: none)."""
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsidePlan:
    """Where an outside number is tried, in order."""

    routes: tuple[OutsideRoute, ...]
    emergency: bool = False
    trace: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsideRefusal:
    """Why an outside number is not dialled; ``prompt`` is spoken first when set."""

    status: int
    reason: str
    prompt: str | None = None
    trace: tuple[str, ...] = ()


class Outside(Protocol):
    """The trunks as the core reaches them (the glue implements it)."""

    def plan(
        self, caller: Extension, number: str, *, presented: str | None = None, direct: bool = True
    ) -> OutsidePlan | OutsideRefusal:
        """How to reach ``number`` for ``caller``.

        Args:
            caller: the extension the call is made for (its rules, its caller ID).
            number: the number as dialled or as a forwarding rule holds it.
            presented: the caller ID to present when the trunk allows it (a
                forwarded call presents its original caller).
            direct: the extension dialled it (its outbound restrictions
                apply); False for its forwarding rules and mobile.
        """
        ...

    def started(self, trunk: str) -> None:
        """A call began on ``trunk``."""
        ...

    def ended(self, trunk: str) -> None:
        """A call on ``trunk`` ended."""
        ...


class NoOutside:
    """No trunks: every outside number is refused."""

    def plan(
        self, caller: Extension, number: str, *, presented: str | None = None, direct: bool = True
    ) -> OutsidePlan | OutsideRefusal:
        """Refuse: 503."""
        return OutsideRefusal(status=503, reason="No trunk for external numbers")

    def started(self, trunk: str) -> None:
        """Nothing to count."""

    def ended(self, trunk: str) -> None:
        """Nothing to count."""


class Attempts:
    """The routes of a plan not yet tried."""

    def __init__(self, plan: OutsidePlan) -> None:
        self.plan = plan
        self._next = 0

    def take(self) -> OutsideRoute | None:
        """The next route (None: none left)."""
        if self._next >= len(self.plan.routes):
            return None
        route = self.plan.routes[self._next]
        self._next += 1
        return route


_OUTSIDE = Extension.model_construct(number="", first_name="", auth_id="", auth_password="")
"""Every outside party's shape, built once: constructing a model (even without
validation) reads each default factory's signature, ~0.4 ms a call."""


def outside_party(number: str, name: str = "") -> Extension:
    """A party outside the PBX, in the shape the core gives its call's ends.

    Built without validation: an outside number (``+39...``) is no extension
    number. Only ``number`` and the name are meaningful.
    """
    return _OUTSIDE.model_copy(update={"number": number, "first_name": name})
