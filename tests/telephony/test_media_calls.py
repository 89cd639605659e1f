"""Anchored calls through the real engine: SIP phones, SDP at the PBX, ports freed.

The engine runs with ``media_anchoring`` on (the production default): the
SDP each phone receives names the PBX, and every way a call ends gives its
two port pairs back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.sip.message import Request, Response
from centralino.sip.sdp import SessionDescription
from centralino.telephony.engine import Telephony
from centralino.telephony.media import AnchorSdp
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import Dialed, SipPhone, contact_uri, extension, sdp, start_calls


async def start() -> Telephony:
    store = InMemoryStore()
    store.seed(extensions=[extension("101"), extension("102")])
    bus = LocalEventBus()
    telephony, _registry = await start_calls(store, FakeClock(), bus, media_anchoring=True)
    return telephony


@pytest.fixture
async def telephony() -> AsyncIterator[Telephony]:
    telephony = await start()
    yield telephony
    await telephony.stop()


@pytest.fixture
async def phones(telephony: Telephony) -> AsyncIterator[tuple[SipPhone, SipPhone]]:
    caller, callee = SipPhone(telephony.port(), "101"), SipPhone(telephony.port(), "102")
    for phone in (caller, callee):
        assert (await phone.register()).status == 200
    yield caller, callee
    caller.close()
    callee.close()


def media_of(telephony: Telephony) -> AnchorSdp:
    assert telephony.media is not None
    return telephony.media


def points_at_pbx(body: bytes) -> int:
    description = SessionDescription.parse(body)
    assert description.connection is not None
    assert description.connection.address == "127.0.0.1"
    port = description.media[0].port
    assert 10000 <= port <= 20000
    assert port % 2 == 0
    return port


async def connect(caller: SipPhone, callee: SipPhone) -> tuple[Dialed, Request, Response, Response]:
    dialed = await caller.dial("102")
    invite = await callee.request("INVITE")
    ok = callee.answer(invite, 200, body=sdp(30000))
    answer = await caller.response(200)
    caller.send(caller.ack_for(dialed.invite, answer))
    await callee.request("ACK")
    return dialed, invite, ok, answer


async def test_each_phone_gets_sdp_naming_the_pbx_and_bye_frees_the_ports(
    telephony: Telephony, phones: tuple[SipPhone, SipPhone]
) -> None:
    caller, callee = phones
    media = media_of(telephony)
    dialed, invite, _ok, answer = await connect(caller, callee)
    to_callee, to_caller = points_at_pbx(invite.body), points_at_pbx(answer.body)
    assert to_callee != to_caller
    [live] = telephony.calls.calls()
    stats = media.stats(live.id)
    assert stats is not None
    assert (stats.caller.local_port, stats.callee.local_port) == (to_caller, to_callee)
    assert stats.callee.remote == ("127.0.0.1", 30000)  # from the callee's SDP
    assert media.allocator.in_use == 2
    caller.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),
        remote=answer.headers.to_address(),
        call_id=dialed.invite.headers.call_id(),
        target=contact_uri(answer),
    )
    assert (await caller.response(200, "BYE")).status == 200
    callee.answer(await callee.request("BYE"), 200)
    assert media.active_calls == 0
    assert media.allocator.in_use == 0


async def test_a_cancelled_call_frees_its_ports(
    telephony: Telephony, phones: tuple[SipPhone, SipPhone]
) -> None:
    caller, callee = phones
    media = media_of(telephony)
    dialed = await caller.dial("102")
    invite = await callee.request("INVITE")
    points_at_pbx(invite.body)
    assert media.allocator.in_use == 2
    callee.answer(invite, 180)
    await caller.response(180)
    caller.cancel(dialed.invite)
    assert (await caller.final()).status == 487
    callee.answer(await callee.request("CANCEL"), 200)
    callee.answer(invite, 487)
    assert media.active_calls == 0
    assert media.allocator.in_use == 0


async def test_a_refused_call_frees_its_ports(
    telephony: Telephony, phones: tuple[SipPhone, SipPhone]
) -> None:
    caller, callee = phones
    media = media_of(telephony)
    await caller.dial("102")
    invite = await callee.request("INVITE")
    callee.answer(invite, 603)
    assert (await caller.final()).status >= 400  # whatever the routing made of it
    assert media.active_calls == 0
    assert media.allocator.in_use == 0


async def test_engine_stop_frees_every_port() -> None:
    telephony = await start()
    caller, callee = SipPhone(telephony.port(), "101"), SipPhone(telephony.port(), "102")
    try:
        for phone in (caller, callee):
            assert (await phone.register()).status == 200
        media = media_of(telephony)
        await connect(caller, callee)
        assert media.allocator.in_use == 2
    finally:
        await telephony.stop()
        caller.close()
        callee.close()
    assert media.allocator.in_use == 0
