"""Message-waiting lamps over loopback UDP: SUBSCRIBE/NOTIFY message-summary, unsolicited NOTIFY."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from centralino.app import build_engine
from centralino.domain.bus import LocalEventBus
from centralino.domain.events import ExtensionChanged, ExtensionDeleted
from centralino.sip.address import NameAddress
from centralino.sip.digest import choose_challenge
from centralino.sip.message import Request, Response, make_request
from centralino.sip.uri import Uri
from centralino.telephony.engine import Telephony, TelephonySettings
from centralino.telephony.mwi import CONTENT_TYPE, MESSAGE_SUMMARY
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, extension
from tests.telephony.mwi_fakes import FakeMailboxes
from tests.telephony.registrar_support import InMemoryLocationStore


@pytest.fixture
def bus() -> LocalEventBus:
    return LocalEventBus()


@pytest.fixture
def mailboxes(bus: LocalEventBus) -> FakeMailboxes:
    return FakeMailboxes(bus)


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    store.seed(extensions=[extension("101", options={"sip_id": "alias101"}), extension("102")])
    return store


async def _engine(
    bus: LocalEventBus, mailboxes: FakeMailboxes | None, store: InMemoryStore | None = None
) -> Telephony:
    if store is None:
        store = InMemoryStore()
        store.seed(extensions=[extension("101"), extension("102")])
    telephony = build_engine(
        TelephonySettings(bind="127.0.0.1", port=0, media_anchoring=False),
        units=store,
        store=InMemoryLocationStore(),
        events=bus,
        clock=FakeClock(),
        mailboxes=mailboxes,
    )
    await telephony.start()
    return telephony


@pytest.fixture
async def telephony(
    bus: LocalEventBus, mailboxes: FakeMailboxes, store: InMemoryStore
) -> AsyncIterator[Telephony]:
    engine = await _engine(bus, mailboxes, store)
    yield engine
    await engine.stop()


@pytest.fixture
def phone(telephony: Telephony) -> AsyncIterator[SipPhone]:
    phone = SipPhone(server_port=telephony.port(), number="101")
    yield phone
    phone.close()


@dataclass
class Subscribed:
    """A subscription this phone made: the dialog it lives in."""

    request: Request
    final: Response
    call_id: str
    tag: str
    extra: list[tuple[str, str]] = field(default_factory=list)

    @property
    def remote(self) -> NameAddress:
        return self.final.headers.to_address()


def _subscribe_headers(
    event: str, expires: int | None, accept: str | None
) -> list[tuple[str, str]]:
    extra = [("Event", event)]
    if accept is not None:
        extra.append(("Accept", accept))
    if expires is not None:
        extra.append(("Expires", str(expires)))
    return extra


async def subscribe(
    phone: SipPhone,
    target: str = "101",
    *,
    expires: int | None = 3600,
    event: str = MESSAGE_SUMMARY,
    accept: str | None = CONTENT_TYPE,
) -> Subscribed:
    """SUBSCRIBE to ``target``'s mailbox, answering the 401; the final answer."""
    call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    uri = f"sip:{target}@127.0.0.1:{phone.server_port}"
    to = f"<sip:{target}@127.0.0.1>"
    extra = _subscribe_headers(event, expires, accept)
    first = phone.new_request("SUBSCRIBE", uri, to=to, call_id=call_id, tag=tag, extra=extra)
    phone.send(first)
    answer = await phone.final("SUBSCRIBE")
    if answer.status != 401:
        return Subscribed(first, answer, call_id, tag)
    challenge = choose_challenge(answer.headers.get_all("www-authenticate"))
    assert challenge is not None
    credentials = phone.digest.authorize(challenge, method="SUBSCRIBE", uri=uri)
    extra.append(("Authorization", str(credentials)))
    request = phone.new_request("SUBSCRIBE", uri, to=to, call_id=call_id, tag=tag, extra=extra)
    phone.send(request)
    return Subscribed(request, await phone.final("SUBSCRIBE"), call_id, tag)


async def resubscribe(phone: SipPhone, sub: Subscribed, expires: int) -> Response:
    """SUBSCRIBE inside the subscription's dialog (refresh, or 0 to end it)."""
    phone.cseq += 1
    request = make_request(
        "SUBSCRIBE",
        Uri.parse(f"sip:127.0.0.1:{phone.server_port}"),
        via=phone.via(),
        from_address=sub.request.headers.from_address(),
        to_address=sub.remote,
        call_id=sub.call_id,
        cseq=phone.cseq,
        extra_headers=[
            ("Contact", phone.contact),
            *_subscribe_headers(MESSAGE_SUMMARY, expires, None),
        ],
    )
    phone.send(request)
    return await phone.final("SUBSCRIBE")


async def notified(phone: SipPhone, status: int = 200) -> Request:
    """The next NOTIFY, answered with ``status``."""
    notify = await phone.request("NOTIFY")
    phone.answer(notify, status)
    return notify


def body(notify: Request) -> str:
    return notify.body.decode()


async def eventually(check: Callable[[], bool], wait: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# Subscribing --------------------------------------------------------------------------


async def test_subscribe_is_challenged_then_answered_and_notified(
    telephony: Telephony, phone: SipPhone
) -> None:
    sub = await subscribe(phone)
    assert sub.final.status == 200
    assert sub.final.headers.get("expires") == "3600"
    assert sub.remote.tag is not None
    assert "contact" in sub.final.headers
    notify = await notified(phone)
    headers = notify.headers
    assert headers.call_id() == sub.call_id
    assert headers.from_address().tag == sub.remote.tag
    assert headers.to_address().tag == sub.tag
    assert notify.uri.port == phone.port
    assert headers.get("event") == "message-summary"
    assert headers.get("subscription-state") == "active;expires=3600"
    assert headers.get("content-type") == CONTENT_TYPE
    assert body(notify) == (
        "Messages-Waiting: no\r\nMessage-Account: sip:101@127.0.0.1\r\nVoice-Message: 0/0 (0/0)\r\n"
    )
    [live] = telephony.subscriptions.watching(MESSAGE_SUMMARY, "101")
    assert live.subscriber == "101"


async def test_initial_notify_shows_the_current_counts(
    telephony: Telephony, phone: SipPhone, mailboxes: FakeMailboxes
) -> None:
    mailboxes.set("101", 3, 2, publish=False)
    await subscribe(phone)
    notify = await notified(phone)
    assert "Messages-Waiting: yes\r\n" in body(notify)
    assert "Voice-Message: 3/2 (0/0)\r\n" in body(notify)


async def test_sip_id_names_the_own_mailbox(telephony: Telephony, phone: SipPhone) -> None:
    sub = await subscribe(phone, "alias101")
    assert sub.final.status == 200
    assert "sip:101@" in body(await notified(phone))


async def test_another_extensions_mailbox_is_403(telephony: Telephony, phone: SipPhone) -> None:
    sub = await subscribe(phone, "102")
    assert sub.final.status == 403
    assert telephony.subscriptions.all() == []


async def test_unknown_event_package_is_489_with_allow_events(
    telephony: Telephony, phone: SipPhone
) -> None:
    sub = await subscribe(phone, event="presence")
    assert sub.final.status == 489
    assert sub.final.headers.get("allow-events") == "message-summary"


async def test_accept_without_the_summary_type_is_406(
    telephony: Telephony, phone: SipPhone
) -> None:
    sub = await subscribe(phone, accept="application/pidf+xml")
    assert sub.final.status == 406
    assert sub.final.headers.get("accept") == CONTENT_TYPE


@pytest.mark.parametrize(
    "accept", [None, "application/*", "text/plain, application/simple-message-summary"]
)
async def test_accept_absent_or_allowing_the_type_is_fine(
    telephony: Telephony, phone: SipPhone, accept: str | None
) -> None:
    sub = await subscribe(phone, accept=accept)
    assert sub.final.status == 200


async def test_expires_too_brief_is_423_with_min_expires(
    telephony: Telephony, phone: SipPhone
) -> None:
    sub = await subscribe(phone, expires=30)
    assert sub.final.status == 423
    assert sub.final.headers.get("min-expires") == "60"


@pytest.mark.parametrize(("asked", "granted"), [(None, "3600"), (99999, "7200"), (60, "60")])
async def test_expires_default_and_maximum(
    telephony: Telephony, phone: SipPhone, asked: int | None, granted: str
) -> None:
    sub = await subscribe(phone, expires=asked)
    assert sub.final.headers.get("expires") == granted
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == f"active;expires={granted}"


async def test_expires_zero_fetches_the_state_once(telephony: Telephony, phone: SipPhone) -> None:
    sub = await subscribe(phone, expires=0)
    assert (sub.final.status, sub.final.headers.get("expires")) == (200, "0")
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == "terminated;reason=timeout"
    assert "Voice-Message: 0/0" in body(notify)
    assert telephony.subscriptions.all() == []


async def test_missing_event_header_is_400(telephony: Telephony, phone: SipPhone) -> None:
    request = phone.new_request(
        "SUBSCRIBE",
        f"sip:101@127.0.0.1:{phone.server_port}",
        to="<sip:101@127.0.0.1>",
        call_id=uuid.uuid4().hex,
        tag="t1",
    )
    phone.send(request)
    assert (await phone.final("SUBSCRIBE")).status == 400


# Within the dialog ------------------------------------------------------------------


async def test_refresh_updates_expiry_and_notifies(telephony: Telephony, phone: SipPhone) -> None:
    sub = await subscribe(phone)
    await notified(phone)
    answer = await resubscribe(phone, sub, 600)
    assert (answer.status, answer.headers.get("expires")) == (200, "600")
    assert answer.headers.to_address().tag == sub.remote.tag
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == "active;expires=600"
    assert len(telephony.subscriptions.all()) == 1


async def test_unsubscribe_ends_with_a_terminated_notify(
    telephony: Telephony, phone: SipPhone
) -> None:
    sub = await subscribe(phone)
    await notified(phone)
    answer = await resubscribe(phone, sub, 0)
    assert (answer.status, answer.headers.get("expires")) == (200, "0")
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == "terminated;reason=timeout"
    assert notify.headers.call_id() == sub.call_id
    assert telephony.subscriptions.all() == []
    assert (await resubscribe(phone, sub, 600)).status == 481


async def test_refresh_of_an_unknown_dialog_is_481(telephony: Telephony, phone: SipPhone) -> None:
    sub = await subscribe(phone)
    await notified(phone)
    stranger = Subscribed(sub.request, sub.final, "another-call-id", sub.tag)
    assert (await resubscribe(phone, stranger, 600)).status == 481


async def test_expiry_timer_ends_the_subscription(
    bus: LocalEventBus, mailboxes: FakeMailboxes
) -> None:
    timers: list[Callable[[], None]] = []

    class Timer:
        def cancel(self) -> None:
            pass

    def schedule(delay: float, callback: Callable[[], None]) -> Timer:
        timers.append(callback)
        return Timer()

    telephony = await _engine(bus, mailboxes)
    telephony.subscriptions.schedule = schedule
    phone = SipPhone(server_port=telephony.port(), number="101")
    try:
        await subscribe(phone)
        await notified(phone)
        [expire] = timers
        expire()
        notify = await notified(phone)
        assert notify.headers.get("subscription-state") == "terminated;reason=timeout"
        assert telephony.subscriptions.all() == []
    finally:
        phone.close()
        await telephony.stop()


async def test_notify_answered_481_removes_the_subscription(
    telephony: Telephony, phone: SipPhone
) -> None:
    await subscribe(phone)
    await notified(phone, 481)
    await eventually(lambda: telephony.subscriptions.all() == [])


# Mailbox changes --------------------------------------------------------------------


async def test_mailbox_change_notifies_the_subscriber_only(
    telephony: Telephony, phone: SipPhone, mailboxes: FakeMailboxes
) -> None:
    assert (await phone.register()).status == 200
    await subscribe(phone)
    await notified(phone)
    mailboxes.set("101", 1)
    notify = await notified(phone)
    assert notify.headers.to_address().tag is not None  # in the dialog
    assert "Messages-Waiting: yes\r\n" in body(notify)
    assert "Voice-Message: 1/0 (0/0)\r\n" in body(notify)
    assert await phone.silent("NOTIFY")  # no unsolicited one on top
    mailboxes.set("102", 4)  # not watched by this phone
    assert await phone.silent("NOTIFY")


async def test_changes_during_an_unanswered_notify_are_coalesced(
    telephony: Telephony, phone: SipPhone, mailboxes: FakeMailboxes
) -> None:
    await subscribe(phone)
    first = await phone.request("NOTIFY")
    mailboxes.set("101", 1)
    mailboxes.set("101", 2, 1)
    assert await phone.silent("NOTIFY", 0.2)  # one NOTIFY at a time
    phone.answer(first, 200)
    notify = await notified(phone)
    assert "Voice-Message: 2/1 (0/0)\r\n" in body(notify)
    assert await phone.silent("NOTIFY")


async def test_unsubscribe_while_the_state_is_read_sends_one_last_notify(
    telephony: Telephony, phone: SipPhone, mailboxes: FakeMailboxes
) -> None:
    sub = await subscribe(phone)
    await notified(phone)
    mailboxes.gate = asyncio.Event()
    mailboxes.set("101", 1)
    await eventually(lambda: mailboxes.reads == 2)  # the pump waits for the counts
    assert (await resubscribe(phone, sub, 0)).status == 200
    mailboxes.gate.set()
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == "terminated;reason=timeout"
    assert "Voice-Message: 1/0" in body(notify)
    assert await phone.silent("NOTIFY")


async def test_registered_phone_without_subscription_gets_an_unsolicited_notify(
    telephony: Telephony, phone: SipPhone, mailboxes: FakeMailboxes
) -> None:
    assert (await phone.register()).status == 200
    [binding] = telephony.registrar.contacts("101")
    mailboxes.set("101", 2, 1)
    notify = await notified(phone)
    headers = notify.headers
    assert headers.to_address().tag is None  # outside any dialog
    assert headers.call_id() == binding.call_id
    assert headers.get("event") == "message-summary"
    assert headers.get("subscription-state") == "active"
    assert headers.get("content-type") == CONTENT_TYPE
    assert notify.uri.port == phone.port
    assert "Messages-Waiting: yes\r\n" in body(notify)
    assert "Voice-Message: 2/1 (0/0)\r\n" in body(notify)
    mailboxes.set("101", 0, 3)
    assert "Messages-Waiting: no\r\n" in body(await notified(phone))


async def test_without_mailboxes_subscribe_is_489(bus: LocalEventBus) -> None:
    telephony = await _engine(bus, None)
    phone = SipPhone(server_port=telephony.port(), number="101")
    try:
        sub = await subscribe(phone)
        assert sub.final.status == 489
        assert sub.final.headers.get("allow-events") is None
    finally:
        phone.close()
        await telephony.stop()


# Directory changes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"options": {"disabled": True}}, "rejected"),
        ({"auth_password": "Another-password-1"}, "deactivated"),
    ],
)
async def test_extension_change_ends_its_subscriptions(
    telephony: Telephony,
    phone: SipPhone,
    bus: LocalEventBus,
    store: InMemoryStore,
    change: dict[str, object],
    reason: str,
) -> None:
    await subscribe(phone)
    await notified(phone)
    changed = extension("101", **change)
    store.seed(extensions=[changed])
    bus.publish(ExtensionChanged(number="101", tabs=("general", "options"), extension=changed))
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == f"terminated;reason={reason}"
    assert telephony.subscriptions.all() == []


async def test_deleted_extension_ends_its_subscriptions(
    telephony: Telephony, phone: SipPhone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    await subscribe(phone)
    await notified(phone)
    del store.state.extensions["101"]
    bus.publish(ExtensionDeleted(number="101"))
    notify = await notified(phone)
    assert notify.headers.get("subscription-state") == "terminated;reason=noresource"
    assert telephony.subscriptions.all() == []


async def test_unrelated_change_keeps_the_subscription(
    telephony: Telephony, phone: SipPhone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    await subscribe(phone)
    await notified(phone)
    renamed = extension("101", first_name="Anna")
    store.seed(extensions=[renamed])
    bus.publish(ExtensionChanged(number="101", tabs=("general",), extension=renamed))
    assert await phone.silent("NOTIFY")
    assert len(telephony.subscriptions.all()) == 1
