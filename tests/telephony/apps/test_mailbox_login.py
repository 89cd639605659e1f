"""Logging in to any mailbox from any phone (the ``*98`` code)."""

from __future__ import annotations

from centralino.telephony.apps.voicemail import mailbox_login
from tests.telephony.apps.fakes import InMemoryMailboxes, Keys
from tests.telephony.apps.test_voicemail import PROMPTS, channel, extension

BOXES = {"101": extension("101"), "102": extension("102", require_pin=False)}


async def test_another_mailbox_asks_its_number_then_its_pin() -> None:
    phone = channel(Keys("101#"), Keys("1234#"), Keys("*"))
    caller = BOXES["102"]
    await mailbox_login(phone, InMemoryMailboxes(), caller, BOXES.get, PROMPTS)
    said = phone.said()
    assert said[:3] == ["enter-mailbox", "enter-pin", "you-have"]
    assert phone.hung_up_by_pbx


async def test_an_unknown_mailbox_is_asked_again_then_goodbye() -> None:
    phone = channel(Keys("999#"), Keys("998#"), Keys("997#"))
    await mailbox_login(phone, InMemoryMailboxes(), BOXES["101"], BOXES.get, PROMPTS)
    assert phone.said() == [
        "enter-mailbox",
        "unknown-mailbox",
        "enter-mailbox",
        "unknown-mailbox",
        "enter-mailbox",
        "unknown-mailbox",
        "goodbye",
    ]
    assert phone.hung_up_by_pbx


async def test_the_own_mailbox_without_required_pin_opens_directly() -> None:
    phone = channel(Keys("102#"), Keys("*"))
    await mailbox_login(phone, InMemoryMailboxes(), BOXES["102"], BOXES.get, PROMPTS)
    assert phone.said()[:2] == ["enter-mailbox", "you-have"]
