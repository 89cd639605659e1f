"""To-tags on final answers to out-of-dialog requests (RFC 3261 §8.2.6.2, §8.2.7).

Each answer to a request without a To-tag carries one, and the same one when
the request is retransmitted; a request inside a dialog keeps its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.sip.message import Response
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import PASSWORD, SipPhone, extension, start_calls
from tests.telephony.registrar_support import Phone, start_telephony


def _to_tag(response: Response) -> str | None:
    return response.headers.to_address().tag


@pytest.fixture
async def telephony() -> AsyncIterator[Telephony]:
    store = InMemoryStore()
    store.seed(extensions=[extension("101")])
    engine = await start_telephony(store, FakeClock())
    yield engine
    await engine.stop()


@pytest.fixture
def phone(telephony: Telephony) -> AsyncIterator[Phone]:
    phone = Phone(server_port=telephony.port())
    yield phone
    phone.close()


async def test_401_403_and_200_to_register_carry_a_to_tag(phone: Phone) -> None:
    refused = await phone.register("user101", "wrong-password-123")
    assert refused.challenge is not None
    assert refused.challenge.status == 401
    assert refused.final.status == 403
    accepted = await phone.register("user101", PASSWORD)
    assert accepted.final.status == 200
    answers = [refused.challenge, refused.final, accepted.final]
    tags = [_to_tag(answer) for answer in answers]
    assert all(tags)
    assert len(set(tags)) == len(tags)  # each request its own


async def test_a_retransmitted_request_gets_the_same_to_tag(phone: Phone) -> None:
    text = phone.register_text(contact=None, expires=None)
    first = await phone.send(text)
    again = await phone.send(text)  # the transaction answers again with its response
    assert first.status == again.status == 401
    assert _to_tag(first) is not None
    assert _to_tag(again) == _to_tag(first)


async def test_200_to_options_carries_a_to_tag(phone: Phone) -> None:
    text = phone.register_text(contact=None, expires=None).replace("REGISTER", "OPTIONS")
    response = await phone.send(text)
    assert response.status == 200
    assert _to_tag(response) is not None


async def test_400_from_a_handler_and_501_carry_a_to_tag(phone: Phone) -> None:
    star = await phone.register("user101", PASSWORD, contact="*", expires=30)  # needs 0
    unknown = await phone.send(
        phone.register_text(contact=None, expires=None).replace("REGISTER", "FOOBAR")
    )
    assert (star.final.status, unknown.status) == (400, 501)
    assert _to_tag(star.final) is not None
    assert _to_tag(unknown) is not None


async def test_stateless_400_to_a_malformed_request_has_a_stable_to_tag(phone: Phone) -> None:
    broken = phone.register_text(contact=None, expires=None).replace(
        "Max-Forwards: 70", "Max-Forwards: x"
    )
    first = await phone.send(broken)
    again = await phone.send(broken)
    assert first.status == again.status == 400
    assert _to_tag(first) is not None
    assert _to_tag(again) == _to_tag(first)


async def test_407_and_404_to_an_invite_carry_a_to_tag_100_trying_none() -> None:
    store = InMemoryStore()
    store.seed(extensions=[extension("101")])
    telephony, _ = await start_calls(store, FakeClock(), LocalEventBus())
    caller = SipPhone(telephony.port(), "101")
    try:
        assert (await caller.register()).status == 200
        await caller.dial("999", auth=False)
        trying = await caller.response(100)
        challenge = await caller.final()
        assert _to_tag(trying) is None
        assert challenge.status == 407
        assert _to_tag(challenge) is not None
        await caller.dial("999")
        unknown = await caller.final()
        assert unknown.status == 404
        assert _to_tag(unknown) is not None
    finally:
        caller.close()
        await telephony.stop()


async def test_a_request_inside_a_dialog_keeps_its_own_to_tag(phone: Phone) -> None:
    bye = phone.register_text(contact=None, expires=None).replace("REGISTER", "BYE")
    bye = bye.replace("To: <sip:101@127.0.0.1>", "To: <sip:101@127.0.0.1>;tag=theirs")
    response = await phone.send(bye)
    assert response.status == 481
    assert _to_tag(response) == "theirs"
