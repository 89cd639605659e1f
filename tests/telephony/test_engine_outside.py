"""EngineOutside: the trunks as the call core sees them (restrictions, routes, inbound)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from centralino.calls.outside import OutsidePlan, OutsideRefusal
from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import make_request
from centralino.sip.peer import TransportKind
from centralino.sip.uri import Uri
from centralino.telephony.calls.outside import EngineOutside
from tests.telephony.calls_support import extension

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)  # a Monday morning


@dataclass
class Trunks:
    """A TrunkState in memory: every trunk up, addresses as written."""

    listed: list[Trunk] = field(default_factory=list)
    listed_rules: list[OutboundRule] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def trunks(self) -> Sequence[Trunk]:
        return self.listed

    @property
    def rules(self) -> Sequence[OutboundRule]:
        return self.listed_rules

    def trunk(self, name: str) -> Trunk | None:
        return next((t for t in self.listed if t.name == name), None)

    def address(self, name: str) -> str | None:
        trunk = self.trunk(name)
        return trunk.host if trunk else None

    def is_up(self, name: str) -> bool:
        return True

    def has_capacity(self, name: str) -> bool:
        return True

    def call_started(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def call_ended(self, name: str) -> None:
        self.calls[name] -= 1

    def trunk_for_source(
        self, ip: str, port: int | None = None, transport: TransportKind = TransportKind.UDP
    ) -> Trunk | None:
        """By address and port only (the whole rule is TrunkManager's, tested there)."""
        return next((t for t in self.listed if t.host == ip and port in (None, t.port)), None)


@dataclass
class Directory:
    extensions: dict[str, Extension] = field(default_factory=dict)
    settings: SystemSettings = field(default_factory=SystemSettings)

    def by_number(self, number: str) -> Extension | None:
        return self.extensions.get(number)

    def by_sip_user(self, user: str) -> Extension | None:
        return None

    def by_did(self, did: str) -> Extension | None:
        return next((e for e in self.extensions.values() if did in e.dids), None)

    def schedule_for(self, extension: Extension) -> OfficeHours:
        return OfficeHours()


def outside(*extensions: Extension, trunk: Trunk | None = None) -> EngineOutside:
    trunk = trunk or Trunk(
        name="voip",
        host="198.51.100.1",
        registration={"enabled": True, "username": "acct", "password": "pw"},
        caller_id="+390200000000",
        dids=["+390212345678"],
    )
    rule = OutboundRule(name="all", trunks=["voip"])
    state = Trunks(listed=[trunk], listed_rules=[rule])
    directory = Directory(extensions={e.number: e for e in extensions})
    return EngineOutside(state, directory, lambda: NOW)


def test_a_plan_names_the_trunk_account_and_the_extension_caller_id() -> None:
    caller = extension("101", outbound_caller_id="+390211111111")
    plan = outside(caller).plan(caller, "+393351234567")
    assert isinstance(plan, OutsidePlan)
    [route] = plan.routes
    assert (route.trunk, route.peer.host, route.peer.port) == ("voip", "198.51.100.1", 5060)
    assert str(route.target) == "sip:+393351234567@198.51.100.1:5060"
    assert (route.caller_id, route.username, route.password) == ("+390211111111", "acct", "pw")


def test_a_forwarded_call_presents_its_caller_unless_the_trunk_refuses() -> None:
    owner = extension("102")
    plan = outside(owner).plan(owner, "+393351234567", presented="+441234567890", direct=False)
    assert isinstance(plan, OutsidePlan)
    assert plan.routes[0].caller_id == "+441234567890"
    strict = Trunk(
        name="voip", host="198.51.100.1", caller_id="+390200000000", present_forwarded_caller=False
    )
    plan = outside(owner, trunk=strict).plan(
        owner, "+393351234567", presented="+441234567890", direct=False
    )
    assert isinstance(plan, OutsidePlan)
    assert plan.routes[0].caller_id == "+390200000000"


def test_restrictions_refuse_direct_calls_only_and_the_unlock_lifts_the_pin() -> None:
    locked = extension("103", options={"pin_protected": True})
    engine = outside(locked)
    refusal = engine.plan(locked, "+393351234567")
    assert isinstance(refusal, OutsideRefusal)
    assert (refusal.status, refusal.prompt) == (403, "pin_required")
    assert "777" in refusal.reason
    assert isinstance(engine.plan(locked, "+393351234567", direct=False), OutsidePlan)
    assert isinstance(engine.plan(locked, "112"), OutsidePlan)  # emergency
    assert engine.unlock("103") == 10
    assert isinstance(engine.plan(locked, "+393351234567"), OutsidePlan)


def test_an_inbound_call_from_a_trunk_is_read_to_its_did_owner_and_e164_caller() -> None:
    owner = extension("104", dids=["+390212345678"])
    engine = outside(owner)
    request = make_request(
        "INVITE",
        Uri.parse("sip:+390212345678@192.0.2.1"),
        via=Via.parse("SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKx"),
        from_address=NameAddress(
            uri=Uri.parse("sip:00441234567890@198.51.100.1"), display_name="Ann"
        ).with_tag("t"),
        to_address=NameAddress(uri=Uri.parse("sip:+390212345678@192.0.2.1")),
        call_id="c1",
        cseq=1,
    )
    call = engine.inbound(request, "198.51.100.1", 5060)
    assert call is not None
    assert (call.trunk.name, call.did, call.route.owner) == ("voip", "+390212345678", "104")
    assert (call.caller.number, call.caller.display_name) == ("+441234567890", "Ann")
    assert engine.inbound(request, "198.51.100.1", 5099) is None  # not the trunk's: no call
