"""``network.public_host``: the host the PBX names itself by to peers outside the LAN.

The engine runs on loopback; 127.0.0.1 is made "outside" by leaving it out of
``network.local_networks``. A phone outside then finds the public host in the
Via and Contact the PBX writes and in the SDP of anchored media; a phone
inside keeps the configured SIP host. A settings change applies to the next
message, without a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.settings import NetworkSettings, SystemSettings
from centralino.net.transport import TransportKind
from centralino.sip.message import Request, Response
from centralino.sip.sdp import SessionDescription
from centralino.telephony.engine import Telephony
from centralino.telephony.sip_server import SipServer
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, contact_uri, extension, sdp, start_calls

PUBLIC = "pbx.example.com"
OUTSIDE = NetworkSettings(local_networks=["10.0.0.0/8"], public_host=PUBLIC)
"""127.0.0.1 is not in the local networks: the test's phones are outside."""


def test_advertised_host_for_asks_the_public_host_of_each_address() -> None:
    asked: list[str] = []

    def public(address: str) -> str | None:
        asked.append(address)
        return PUBLIC if address == "203.0.113.9" else None

    sip = SipServer(advertised_host="192.168.1.2", public_host=public)
    assert sip.advertised_host_for("203.0.113.9") == PUBLIC
    assert sip.advertised_host_for("192.168.1.20") == "192.168.1.2"
    assert sip.advertised_host_for(None) == "192.168.1.2"  # no peer known: the LAN host
    assert asked == ["203.0.113.9", "192.168.1.20"]
    assert SipServer(advertised_host="192.168.1.2").advertised_host_for("203.0.113.9") == (
        "192.168.1.2"
    )


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    store.seed(extensions=[extension("101"), extension("102")])
    return store


@pytest.fixture
async def telephony(store: InMemoryStore) -> AsyncIterator[Telephony]:
    bus = LocalEventBus()
    telephony, _registry = await start_calls(store, FakeClock(), bus, media_anchoring=True)
    yield telephony
    await telephony.stop()


async def _change_network(
    telephony: Telephony, store: InMemoryStore, network: NetworkSettings
) -> None:
    """Change the settings and let the directory see them (as after the event).

    The event path itself is covered end to end in tests/interop/test_settings_interop.py.
    """
    store.seed(settings=SystemSettings(network=network))
    await telephony.directory.load()


async def _call(telephony: Telephony) -> tuple[Request, Response]:
    """101 calls 102: the INVITE 102 receives, the 200 101 receives."""
    caller, callee = SipPhone(telephony.port(), "101"), SipPhone(telephony.port(), "102")
    try:
        for phone in (caller, callee):
            assert (await phone.register()).status == 200
        dialed = await caller.dial("102")
        invite = await callee.request("INVITE")
        callee.answer(invite, 200, body=sdp(30000))
        answer = await caller.response(200)
        caller.send(caller.ack_for(dialed.invite, answer))
        await callee.request("ACK")
        return invite, answer
    finally:
        caller.close()
        callee.close()


def _hosts(message: Request | Response) -> tuple[str, str]:
    """The host of the Contact and of the SDP's connection line."""
    description = SessionDescription.parse(message.body)
    assert description.connection is not None
    return contact_uri(message).host, description.connection.address


async def test_lan_phones_get_the_configured_host_even_with_a_public_host(
    telephony: Telephony, store: InMemoryStore
) -> None:
    await _change_network(telephony, store, NetworkSettings(public_host=PUBLIC))
    invite, answer = await _call(telephony)
    assert _hosts(invite) == _hosts(answer) == ("127.0.0.1", "127.0.0.1")
    assert invite.headers.vias()[0].host == "127.0.0.1"


async def test_phones_outside_get_the_public_host_in_via_contact_and_sdp(
    telephony: Telephony, store: InMemoryStore
) -> None:
    await _change_network(telephony, store, OUTSIDE)
    invite, answer = await _call(telephony)
    assert _hosts(invite) == (PUBLIC, PUBLIC)  # to the callee: the PBX's INVITE
    assert _hosts(answer) == (PUBLIC, PUBLIC)  # to the caller: the PBX's 200
    assert invite.headers.vias()[0].host == PUBLIC
    assert telephony.sip.via(TransportKind.UDP, to="127.0.0.1").split()[1].startswith(PUBLIC)


async def test_outside_without_a_public_host_keeps_the_configured_host(
    telephony: Telephony, store: InMemoryStore
) -> None:
    await _change_network(telephony, store, NetworkSettings(local_networks=["10.0.0.0/8"]))
    invite, answer = await _call(telephony)
    assert _hosts(invite) == _hosts(answer) == ("127.0.0.1", "127.0.0.1")
