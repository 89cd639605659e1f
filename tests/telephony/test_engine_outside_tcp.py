"""EngineOutside over TCP: a provider's own connection comes from a port of its choosing.

A provider sends its INVITEs to the PBX on a TCP connection it opens itself,
so their source port is an ephemeral one, never the port the PBX registers
to: over TCP a TCP trunk's requests are known by the provider's address. A
UDP trunk still needs its port (phones may share the provider's address),
and a request over UDP from a TCP trunk's address with another port is no
trunk's.
"""

from __future__ import annotations

from centralino.domain.trunks import Trunk
from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request
from centralino.sip.peer import TransportKind
from centralino.sip.uri import Uri
from tests.telephony.calls_support import extension
from tests.telephony.test_engine_outside import outside

DID = "+390212345678"


def _invite(transport: str) -> Request:
    return make_request(
        "INVITE",
        Uri.parse(f"sip:{DID}@192.0.2.1;transport={transport}"),
        via=Via.parse(f"SIP/2.0/{transport.upper()} 198.51.100.1:41234;branch=z9hG4bKt"),
        from_address=NameAddress(uri=Uri.parse("sip:+441234567890@198.51.100.1")).with_tag("t"),
        to_address=NameAddress(uri=Uri.parse(f"sip:{DID}@192.0.2.1")),
        call_id="tcp-1",
        cseq=1,
    )


def _trunk(transport: str) -> Trunk:
    return Trunk(name="voip", host="198.51.100.1", transport=transport, dids=[DID])


def test_a_tcp_trunks_request_over_tcp_counts_from_any_port_of_its_address() -> None:
    owner = extension("104", dids=[DID])
    engine = outside(owner, trunk=_trunk("tcp"))
    call = engine.inbound(_invite("tcp"), "198.51.100.1", 41234, TransportKind.TCP)
    assert call is not None
    assert (call.trunk.name, call.route.owner) == ("voip", "104")
    assert engine.inbound(_invite("tcp"), "198.51.100.2", 41234, TransportKind.TCP) is None
    # over UDP the port still counts, even for a TCP trunk
    assert engine.inbound(_invite("udp"), "198.51.100.1", 41234, TransportKind.UDP) is None


def test_a_udp_trunk_still_needs_its_port_over_tcp() -> None:
    owner = extension("104", dids=[DID])
    engine = outside(owner, trunk=_trunk("udp"))
    assert engine.inbound(_invite("tcp"), "198.51.100.1", 41234, TransportKind.TCP) is None
    assert engine.inbound(_invite("udp"), "198.51.100.1", 5060, TransportKind.UDP) is not None
