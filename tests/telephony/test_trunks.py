"""The trunk manager's view for call routing: trunks, rules, sources, capacity.

A real SIP server on loopback; the trunks point at a UDP socket of the test
that answers OPTIONS (or stays silent), host names resolve through an
injected resolver.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import ChangesMissed, OutboundRuleChanged, TrunkChanged
from centralino.domain.trunks import OutboundRule, RegistrationState, Trunk, TrunkRegistration
from centralino.net import open_udp
from centralino.sip.message import Request, make_response, parse_message
from centralino.sip.transaction import TimerSettings
from centralino.sip.transaction_layer import TransactionLayer
from centralino.telephony.sip_server import SipServer
from centralino.telephony.trunks import TrunkManager

NAMES = {"sip.provider.test": "127.0.0.1", "other.provider.test": "127.0.0.2"}


async def resolve(host: str) -> str | None:
    return NAMES.get(host, host if host[0].isdigit() else None)


class Provider:
    """A UDP socket answering OPTIONS 200 while ``answering``; counts what it got."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.answering = True
        self.received: list[Request] = []
        self._task = asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data, peer = await loop.sock_recvfrom(self.sock, 65535)
            request = parse_message(data)
            assert isinstance(request, Request)
            self.received.append(request)
            if self.answering:
                answer = make_response(request, 200, to_tag="p")
                await loop.sock_sendto(self.sock, bytes(answer), peer)

    async def close(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        self.sock.close()


@dataclass
class Setup:
    manager: TrunkManager
    bus: LocalEventBus
    trunks: dict[str, Trunk]
    rules: dict[str, OutboundRule]
    provider: Provider


@asynccontextmanager
async def manager_with(
    trunks: Sequence[Trunk], rules: Sequence[OutboundRule] = (), options_interval: float = 30.0
) -> AsyncIterator[Setup]:
    sip = SipServer(layer=TransactionLayer(TimerSettings(t1=0.01)))
    sip.add_transport(await open_udp("127.0.0.1", 0, sip.receive))
    provider = Provider()
    stored_trunks = {trunk.name: trunk for trunk in trunks}
    stored_rules = {rule.name: rule for rule in rules}

    async def load_trunks() -> Sequence[Trunk]:
        return [
            trunk.model_copy(update={"port": provider.port}) for trunk in stored_trunks.values()
        ]

    async def load_rules() -> Sequence[OutboundRule]:
        return list(stored_rules.values())

    bus = LocalEventBus()
    manager = TrunkManager(
        sip=sip,
        load_trunks=load_trunks,
        load_rules=load_rules,
        resolve=resolve,
        options_interval=options_interval,
    )
    await manager.start(bus)
    try:
        yield Setup(manager, bus, stored_trunks, stored_rules, provider)
    finally:
        await manager.stop(within=0.2)
        sip.close()
        await provider.close()


def trunk(name: str, host: str = "127.0.0.1", **values: object) -> Trunk:
    return Trunk.model_validate({"name": name, "host": host, **values})


def rule(name: str, priority: int, trunks: Sequence[str] = ("a",)) -> OutboundRule:
    return OutboundRule(name=name, priority=priority, trunks=list(trunks))


async def wait_until(check: object, within: float = 10.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_rules_in_priority_order_and_followed_from_the_bus() -> None:
    rules = [rule("mobile", 20), rule("zz-default", 100), rule("emergency", 0), rule("aa", 100)]
    async with manager_with([trunk("a")], rules) as setup:
        assert [item.name for item in setup.manager.rules] == [
            "emergency",
            "mobile",
            "aa",
            "zz-default",
        ]
        setup.bus.publish(OutboundRuleChanged(name="mobile", rule=rule("mobile", 200)))
        setup.bus.publish(OutboundRuleChanged(name="aa", rule=None))
        setup.bus.publish(OutboundRuleChanged(name="new", rule=rule("new", 5)))
        assert [item.name for item in setup.manager.rules] == [
            "emergency",
            "new",
            "zz-default",
            "mobile",
        ]


async def test_changes_missed_reloads_trunks_and_rules_whole() -> None:
    async with manager_with([trunk("a"), trunk("b")], [rule("r1", 1)]) as setup:
        del setup.trunks["b"]
        setup.trunks["c"] = trunk("c")
        setup.rules["r2"] = rule("r2", 0)
        setup.bus.publish(ChangesMissed(reason="test"))
        await setup.manager.settled()
        assert [item.name for item in setup.manager.trunks] == ["a", "c"]
        assert [item.name for item in setup.manager.rules] == ["r2", "r1"]
        assert setup.manager.status("b") is None


async def test_source_matching_by_resolved_host_networks_and_port() -> None:
    trunks = [
        trunk("named", "sip.provider.test"),
        trunk("cidr", "other.provider.test", allowed_addresses=["198.51.100.0/24"]),
        trunk("off", "203.0.113.9", enabled=False),
    ]
    async with manager_with(trunks) as setup:
        manager = setup.manager
        found = manager.trunk_for_source("127.0.0.1")
        assert found is not None
        assert found.name == "named"  # its host name resolved at load
        source = manager.trunk_for_source("198.51.100.77")
        assert source is not None
        assert source.name == "cidr"
        other = manager.trunk_for_source("127.0.0.2")
        assert other is not None
        assert other.name == "cidr"
        assert manager.trunk_for_source("203.0.113.9") is None  # disabled: never
        assert manager.trunk_for_source("192.0.2.1") is None
        assert manager.trunk_for_source("not an address") is None
        second = trunk("second", "127.0.0.1", port=5999)
        setup.bus.publish(TrunkChanged(name="second", trunk=second))
        await manager.settled()
        by_port = manager.trunk_for_source("127.0.0.1", 5999)
        assert by_port is not None
        assert by_port.name == "second"


async def test_capacity_counts_calls_and_reports_them() -> None:
    async with manager_with([trunk("a", max_calls=2)]) as setup:
        manager = setup.manager
        assert manager.has_capacity("a")
        manager.call_started("a")
        manager.call_started("a")
        assert not manager.has_capacity("a")
        status = manager.status("a")
        assert status is not None
        assert status.calls_in_progress == 2
        manager.call_ended("a")
        assert manager.has_capacity("a")
        assert not manager.has_capacity("unknown")


async def test_unresolvable_host_is_down_with_the_reason() -> None:
    registration = TrunkRegistration(enabled=True, username="u", password="p")
    async with manager_with([trunk("lost", "nowhere.invalid", registration=registration)]) as setup:
        status = setup.manager.status("lost")
        assert status is not None
        assert status.registration is RegistrationState.FAILED
        assert status.last_error is not None
        assert "nowhere.invalid" in status.last_error
        assert not status.up
        assert setup.manager.trunk_for_source("127.0.0.1") is None


async def test_keep_alive_up_then_down_after_three_misses_then_up_again() -> None:
    async with manager_with([trunk("a")], options_interval=0.1) as setup:
        manager, provider = setup.manager, setup.provider

        def answered() -> bool:
            status = manager.status("a")
            return status is not None and status.options_ok is True

        await wait_until(answered)
        assert provider.received[0].method == "OPTIONS"
        assert manager.is_up("a")
        provider.answering = False
        start = len(provider.received)
        await wait_until(lambda: not manager.is_up("a"))
        misses = {request.headers.call_id() for request in provider.received[start:]}
        assert len(misses) >= 3  # not down before three unanswered probes
        provider.answering = True
        await wait_until(lambda: manager.is_up("a"))


async def test_a_tcp_trunk_without_a_tcp_transport_says_so() -> None:
    registration = TrunkRegistration(enabled=True, username="u", password="p")
    async with manager_with([trunk("t", transport="tcp", registration=registration)]) as setup:
        status = setup.manager.status("t")
        assert status is not None
        assert status.registration is RegistrationState.FAILED
        assert status.last_error == "the PBX has no TCP transport"
        assert not status.up
