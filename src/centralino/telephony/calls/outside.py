"""The trunks as the call core reaches them: outbound plans, inbound DIDs, the PIN unlock.

Theory of operation. :class:`EngineOutside` implements the core's
:class:`~centralino.calls.outside.Outside` port with the pure decisions of
:mod:`centralino.routing` and the live trunk state of the engine
(:class:`TrunkState`: the trunks and rules as last committed, which are up,
which are full):

* :meth:`EngineOutside.plan` — a number to dial out: the extension's
  restrictions first when it dialled the number itself
  (:func:`~centralino.routing.restrictions.outbound_refusal`: external calls
  disabled, office hours, PIN), then the outbound rules
  (:func:`~centralino.routing.outbound.plan_outbound`); each attempt becomes
  an :class:`~centralino.calls.outside.OutsideRoute` (the trunk's address,
  the number and caller ID in its format, its account for digest);
* :meth:`EngineOutside.inbound` — an INVITE from a trunk's address: its DID
  (where the trunk puts it, read to E.164), who owns it, the caller's number
  read to E.164 for display and callback;
* :meth:`EngineOutside.unlock` — the unlock code's PIN was right: outside
  calls are allowed for ``numbering.outbound_unlock_minutes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from centralino.calls.outside import OutsidePlan, OutsideRefusal, OutsideRoute, outside_party
from centralino.domain.extension import Extension
from centralino.domain.numbers import to_e164
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.routing.inbound import DidRoute, did_of, route_did
from centralino.routing.outbound import (
    OutboundRefused,
    TrunkAttempt,
    groups_of,
    is_emergency,
    plan_outbound,
)
from centralino.routing.restrictions import OutboundUnlock, office_is_open, outbound_refusal
from centralino.sip.message import Request
from centralino.sip.peer import Peer, TransportKind
from centralino.sip.uri import Uri
from centralino.telephony.calls.ports import ExtensionDirectory

__all__ = ["EngineOutside", "InboundCall", "TrunkState"]

log = structlog.get_logger(__name__)


class TrunkState(Protocol):
    """The engine's trunks now (kept current from the change feed)."""

    @property
    def trunks(self) -> Sequence[Trunk]:
        """Every trunk."""
        ...

    @property
    def rules(self) -> Sequence[OutboundRule]:
        """Every outbound rule, in the order they are tried."""
        ...

    def trunk(self, name: str) -> Trunk | None:
        """A trunk by name."""
        ...

    def address(self, name: str) -> str | None:
        """The trunk's host as an IP address (resolved at load), if known."""
        ...

    def is_up(self, name: str) -> bool:
        """Whether outbound calls may use the trunk."""
        ...

    def has_capacity(self, name: str) -> bool:
        """Whether the trunk carries fewer calls than its ``max_calls``."""
        ...

    def call_started(self, name: str) -> None:
        """A call began on the trunk."""
        ...

    def call_ended(self, name: str) -> None:
        """A call on the trunk ended."""
        ...

    def trunk_for_source(
        self, ip: str, port: int | None = None, transport: TransportKind = TransportKind.UDP
    ) -> Trunk | None:
        """The enabled trunk whose calls come from ``ip``:``port`` over ``transport``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundCall:
    """An INVITE from a trunk: where it goes, and who calls."""

    trunk: Trunk
    did: str
    route: DidRoute
    caller: Extension
    """The outside caller (:func:`~centralino.calls.outside.outside_party`)."""


class EngineOutside:
    """See the module docstring."""

    def __init__(
        self,
        trunks: TrunkState,
        directory: ExtensionDirectory,
        wall: Callable[[], dt.datetime],
    ) -> None:
        self._trunks = trunks
        self._directory = directory
        self._wall = wall
        self.unlocks = OutboundUnlock()

    # The core's port ---------------------------------------------------------------

    def plan(
        self, caller: Extension, number: str, *, presented: str | None = None, direct: bool = True
    ) -> OutsidePlan | OutsideRefusal:
        """How to reach ``number`` for ``caller`` (restrictions first when ``direct``)."""
        numbering = self._directory.settings.numbering
        emergency = is_emergency(number, numbering)
        if direct:
            now = self._wall()
            refusal = outbound_refusal(
                caller,
                emergency=emergency,
                now=now,
                in_office_hours=office_is_open(self._directory.schedule_for(caller), now),
                unlocked_until=self.unlocks.unlocked_until(caller.number, now),
                unlock_code=numbering.outbound_unlock_code,
            )
            if refusal is not None:
                log.info(
                    "outbound call refused",
                    caller=caller.number,
                    number=number,
                    reason=refusal.reason.value,
                )
                return OutsideRefusal(
                    status=refusal.status, reason=refusal.phrase, prompt=refusal.reason.value
                )
        state = self._trunks
        plan = plan_outbound(
            number,
            caller,
            groups_of(caller),
            state.rules,
            state.trunks,
            settings=numbering,
            is_up=state.is_up,
            has_capacity=state.has_capacity,
            presented=presented,
        )
        trace = tuple(plan.render().splitlines())
        if isinstance(plan, OutboundRefused):
            return OutsideRefusal(status=int(plan.status), reason=plan.reason, trace=trace)
        routes = tuple(
            route
            for attempt in plan.attempts
            if (route := self._route(attempt, number)) is not None
        )
        return OutsidePlan(routes=routes, emergency=plan.emergency, trace=trace)

    def _route(self, attempt: TrunkAttempt, dialled: str) -> OutsideRoute | None:
        trunk = self._trunks.trunk(attempt.trunk)
        if trunk is None:
            return None
        host = self._trunks.address(trunk.name) or trunk.host
        peer = Peer(TransportKind(trunk.transport.value), host, trunk.port)
        registration = trunk.registration
        account = registration.digest_user or None
        presented = attempt.presented if trunk.present_forwarded_caller else None
        caller_id = presented or attempt.caller_id or registration.username or "anonymous"
        target = Uri(scheme="sip", user=attempt.number, host=trunk.host, port=trunk.port)
        if trunk.transport.value == "tcp":
            target = target.with_parameter("transport", "tcp")
        return OutsideRoute(
            trunk=trunk.name,
            peer=peer,
            target=target,
            number=attempt.number,
            dialled=to_e164(dialled, trunk),
            caller_id=caller_id,
            from_host=trunk.host,
            username=account,
            password=registration.password,
        )

    def started(self, trunk: str) -> None:
        """A call began on ``trunk``."""
        self._trunks.call_started(trunk)

    def ended(self, trunk: str) -> None:
        """A call on ``trunk`` ended."""
        self._trunks.call_ended(trunk)

    # Inbound -----------------------------------------------------------------------

    def inbound(
        self,
        request: Request,
        source: str,
        port: int,
        transport: TransportKind = TransportKind.UDP,
    ) -> InboundCall | None:
        """The trunk call ``request`` from ``source``:``port`` is (None: not from a trunk)."""
        trunk = self._trunks.trunk_for_source(source, port, transport)
        if trunk is None:
            return None
        headers = request.headers
        did = did_of(trunk, request.uri.user or "", headers.to_address().uri.user or "")
        owner = self._directory.by_did(did)
        owners = {did: owner.number} if owner is not None else {}
        route = route_did(did, owners, trunk)
        calling = headers.from_address()
        number = calling.uri.user or "anonymous"
        if number != "anonymous":
            number = to_e164(number, trunk)
        caller = outside_party(number, calling.display_name or "")
        return InboundCall(trunk=trunk, did=did, route=route, caller=caller)

    def has_capacity(self, trunk: Trunk) -> bool:
        """Whether ``trunk`` takes one more call."""
        return self._trunks.has_capacity(trunk.name)

    # The unlock code ---------------------------------------------------------------

    def unlock(self, number: str) -> int:
        """Allow outside calls of extension ``number``; returns for how many minutes."""
        minutes = self._directory.settings.numbering.outbound_unlock_minutes
        until = self.unlocks.unlock(number, self._wall(), minutes)
        log.info("outbound calls unlocked", extension=number, until=until.isoformat())
        return minutes
