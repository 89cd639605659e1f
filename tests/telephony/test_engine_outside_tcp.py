"""Which trunk a request comes from (TrunkManager.trunk_for_source): the one rule.

A provider sends its INVITEs to the PBX on a TCP connection it opens itself,
so their source port is an ephemeral one, never the port the PBX registers
to: over TCP a TCP trunk's requests are known by the provider's address. A
UDP trunk still needs its port (phones may share the provider's address),
and a request over UDP from a TCP trunk's address with another port is no
trunk's.
"""

from __future__ import annotations

from centralino.domain.events import TrunkChanged
from centralino.sip.peer import TransportKind
from tests.telephony.test_trunks import manager_with, trunk

PROVIDER = "198.51.100.1"


async def test_a_tcp_trunks_request_over_tcp_counts_from_any_port_of_its_address() -> None:
    async with manager_with([]) as setup:
        voip = trunk("voip", PROVIDER, port=5060, transport="tcp")
        setup.bus.publish(TrunkChanged(name="voip", trunk=voip))
        await setup.manager.settled()
        found = setup.manager.trunk_for_source(PROVIDER, 41234, TransportKind.TCP)
        assert found is not None
        assert found.name == "voip"
        assert setup.manager.trunk_for_source("198.51.100.2", 41234, TransportKind.TCP) is None
        # over UDP the port still counts, even for a TCP trunk
        assert setup.manager.trunk_for_source(PROVIDER, 41234, TransportKind.UDP) is None


async def test_a_udp_trunk_needs_its_port_over_either_transport() -> None:
    async with manager_with([]) as setup:
        voip = trunk("voip", PROVIDER, port=5060)
        setup.bus.publish(TrunkChanged(name="voip", trunk=voip))
        await setup.manager.settled()
        assert setup.manager.trunk_for_source(PROVIDER, 41234, TransportKind.TCP) is None
        assert setup.manager.trunk_for_source(PROVIDER, 5099) is None  # a phone behind its NAT
        assert setup.manager.trunk_for_source(PROVIDER, 5060) is not None


async def test_an_allowed_network_counts_from_any_port() -> None:
    async with manager_with([]) as setup:
        carrier = trunk("carrier", PROVIDER, port=5060, allowed_addresses=["203.0.113.0/24"])
        setup.bus.publish(TrunkChanged(name="carrier", trunk=carrier))
        await setup.manager.settled()
        found = setup.manager.trunk_for_source("203.0.113.40", 41234)
        assert found is not None
        assert found.name == "carrier"
