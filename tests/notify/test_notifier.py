"""EmailNotifier end to end: real events on a LocalEventBus, a real SMTP server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.calls import CallState
from centralino.domain.events import CallRecordCreated, CallStateChanged, VoicemailLeft
from centralino.domain.settings import SmtpSettings, SystemSettings
from centralino.domain.voicemail import EmailMode
from centralino.media.wav import read_wav
from centralino.notify import EmailNotifier, SmtpMailer
from tests.fakes import EPOCH, FakeClock, InMemoryStore
from tests.notify.smtp_support import (
    FakeMailboxes,
    PasswordChecker,
    SmtpServer,
    make_extension,
    running_smtp_server,
    tone,
)

RECEIVED = dt.datetime(2024, 3, 4, 9, 15, 30, tzinfo=dt.UTC)


def ended_call(
    result: CallResult,
    caller: str = "102",
    callee: str = "101",
    *,
    caller_name: str | None = None,
    did: str | None = None,
) -> CallRecordCreated:
    """The record of a call that came at EPOCH and ended a minute later, as ``result``."""
    answered = EPOCH + dt.timedelta(seconds=10) if result is CallResult.ANSWERED else None
    record = CallRecord.build(
        id="c1",
        started_at=EPOCH,
        answered_at=answered,
        ended_at=EPOCH + dt.timedelta(minutes=1),
        direction=CallDirection.INBOUND if did else CallDirection.INTERNAL,
        caller=caller,
        caller_name=caller_name,
        callee=callee,
        did=did,
        result=result,
    )
    return CallRecordCreated(record=record)


@dataclass
class Pbx:
    """Everything around the notifier: store, mailboxes, bus, SMTP server."""

    store: InMemoryStore
    mailboxes: FakeMailboxes
    bus: LocalEventBus
    notifier: EmailNotifier
    smtp: SmtpServer

    def use_smtp(self, smtp: SmtpSettings) -> None:
        self.store.seed(settings=SystemSettings(smtp=smtp))

    def owner(self, number: str = "101", **fields: object) -> None:
        fields = {
            "first_name": "Anna",
            "last_name": "Bianchi",
            "email": "anna@example.com",
        } | fields
        self.store.seed(extensions=[make_extension(number, **fields)])

    async def leave(self, mailbox: str = "101", message_id: str = "m1", **fields: object) -> bytes:
        pcm = tone(1.0)
        self.mailboxes.put(mailbox, message_id, pcm=pcm, received_at=RECEIVED, **fields)  # type: ignore[arg-type]
        self.bus.publish(VoicemailLeft(mailbox=mailbox, message_id=message_id))
        await self.notifier.drain()
        return pcm

    async def miss(self, result: CallResult, caller: str = "102", callee: str = "101") -> None:
        self.bus.publish(ended_call(result, caller, callee))
        await self.notifier.drain()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
async def pbx(smtp_server: SmtpServer) -> AsyncIterator[Pbx]:
    store = InMemoryStore()
    store.seed(
        settings=SystemSettings(smtp=smtp_server.settings(sender="pbx@example.com")),
        extensions=[make_extension("102", first_name="Mario", last_name="Rossi")],
    )
    mailboxes = FakeMailboxes()
    bus = LocalEventBus()  # no on_error: a subscriber that raises fails the test
    clock = FakeClock(EPOCH)
    notifier = EmailNotifier(
        store, mailboxes, SmtpMailer(store, timeout=5), clock, time_zone=dt.UTC
    )
    notifier.subscribe(bus)
    yield Pbx(store=store, mailboxes=mailboxes, bus=bus, notifier=notifier, smtp=smtp_server)
    await notifier.close()


def only_email(pbx: Pbx) -> EmailMessage:
    assert len(pbx.smtp.deliveries) == 1
    return pbx.smtp.deliveries[0].message


# Voicemail -------------------------------------------------------------------


async def test_notify_mode_sends_a_notice_without_attachment(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": EmailMode.NOTIFY})
    await pbx.leave()
    delivery = pbx.smtp.deliveries[0]
    assert delivery.recipients == ["anna@example.com"]
    assert delivery.sender == "pbx@example.com"
    message = only_email(pbx)
    assert message["Subject"] == "New voicemail from 102 Mario Rossi (0:01)"
    assert list(message.iter_attachments()) == []
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "102 Mario Rossi" in text
    assert "2024-03-04 09:15:30" in text
    assert "101 Anna Bianchi" in text
    assert pbx.mailboxes.holds("101", "m1")


async def test_subject_names_the_caller_and_the_duration(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "notify"})
    pbx.mailboxes.put("101", "m1", caller="102", pcm=tone(23), received_at=RECEIVED)
    pbx.bus.publish(VoicemailLeft(mailbox="101", message_id="m1"))
    await pbx.notifier.drain()
    assert only_email(pbx)["Subject"] == "New voicemail from 102 Mario Rossi (0:23)"


async def test_caller_name_from_the_message_wins(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "notify"})
    await pbx.leave(caller="+390612345678", caller_name="Studio Verdi")
    assert only_email(pbx)["Subject"].startswith("New voicemail from +390612345678 Studio Verdi")


async def test_attach_mode_carries_the_message_as_wav(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach"})
    pcm = await pbx.leave()
    attachments = list(only_email(pbx).iter_attachments())
    assert len(attachments) == 1
    attachment = attachments[0]
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_filename() == "voicemail-20240304-091530-102.wav"
    payload = attachment.get_content()
    assert isinstance(payload, bytes)
    assert read_wav(payload).pcm == pcm
    assert pbx.mailboxes.holds("101", "m1")
    assert pbx.mailboxes.deleted == []


async def test_attach_and_delete_deletes_only_after_the_server_accepted(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach_and_delete"})
    held_during_data: list[bool] = []
    pbx.smtp.handler.on_data = lambda: held_during_data.append(pbx.mailboxes.holds("101", "m1"))
    pcm = await pbx.leave()
    assert held_during_data == [True]
    (attachment,) = only_email(pbx).iter_attachments()
    payload = attachment.get_content()
    assert isinstance(payload, bytes)
    assert read_wav(payload).pcm == pcm
    assert pbx.mailboxes.deleted == [("101", "m1")]


async def test_attach_and_delete_keeps_the_message_when_the_server_refuses(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach_and_delete"})
    pbx.smtp.handler.refuse = "550 Mailbox unavailable"
    await pbx.leave()
    assert pbx.smtp.deliveries == []
    assert pbx.mailboxes.holds("101", "m1")
    assert pbx.mailboxes.deleted == []


async def test_attach_and_delete_keeps_the_message_when_the_server_is_unreachable(
    pbx: Pbx,
) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach_and_delete"})
    pbx.smtp.handler.refuse = None
    with running_smtp_server() as other:
        closed_port = other.port
    pbx.use_smtp(SmtpSettings(host="127.0.0.1", port=closed_port, starttls=False))
    await pbx.leave()
    assert pbx.mailboxes.holds("101", "m1")


async def test_mode_none_sends_nothing(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "none"})
    await pbx.leave()
    assert pbx.smtp.deliveries == []
    assert pbx.mailboxes.holds("101", "m1")


async def test_no_email_address_sends_nothing(pbx: Pbx) -> None:
    pbx.owner(email=None, voicemail={"pin": "4711", "email_mode": "attach_and_delete"})
    await pbx.leave()
    assert pbx.smtp.deliveries == []
    assert pbx.mailboxes.holds("101", "m1")


async def test_no_smtp_host_sends_nothing_and_keeps_the_message(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach_and_delete"})
    pbx.use_smtp(SmtpSettings())
    await pbx.leave()
    assert pbx.smtp.deliveries == []
    assert pbx.mailboxes.holds("101", "m1")


async def test_a_message_already_gone_sends_nothing(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "attach"})
    pbx.bus.publish(VoicemailLeft(mailbox="101", message_id="gone"))
    await pbx.notifier.drain()
    assert pbx.smtp.deliveries == []


async def test_unknown_mailbox_sends_nothing(pbx: Pbx) -> None:
    pbx.bus.publish(VoicemailLeft(mailbox="199", message_id="m1"))
    await pbx.notifier.drain()
    assert pbx.smtp.deliveries == []


async def test_default_sender_when_none_is_set(pbx: Pbx) -> None:
    pbx.owner(voicemail={"pin": "4711", "email_mode": "notify"})
    pbx.use_smtp(pbx.smtp.settings())
    await pbx.leave()
    assert pbx.smtp.deliveries[0].sender == "centralino@[127.0.0.1]"


# Missed calls ------------------------------------------------------------------


@pytest.mark.parametrize(
    "result", [CallResult.NO_ANSWER, CallResult.BUSY, CallResult.REJECTED, CallResult.VOICEMAIL]
)
async def test_missed_call_email_when_the_option_is_on(pbx: Pbx, result: CallResult) -> None:
    pbx.owner(options={"missed_call_email": True})
    await pbx.miss(result)
    delivery = pbx.smtp.deliveries[0]
    assert delivery.recipients == ["anna@example.com"]
    message = only_email(pbx)
    assert message["Subject"] == "Missed call from 102 Mario Rossi"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "2024-03-04 10:00:00" in body.get_content()  # when the call came (the record's)


async def test_no_missed_call_email_when_the_option_is_off(pbx: Pbx) -> None:
    pbx.owner(options={"missed_call_email": False})
    await pbx.miss(CallResult.NO_ANSWER)
    assert pbx.smtp.deliveries == []


@pytest.mark.parametrize("result", [CallResult.ANSWERED, CallResult.FAILED])
async def test_answered_or_failed_calls_are_not_missed(pbx: Pbx, result: CallResult) -> None:
    pbx.owner(options={"missed_call_email": True})
    await pbx.miss(result)
    assert pbx.smtp.deliveries == []


async def test_call_states_send_no_email(pbx: Pbx) -> None:
    pbx.owner(options={"missed_call_email": True})
    for state in CallState:
        pbx.bus.publish(CallStateChanged(call_id="c1", caller="102", callee="101", state=state))
    await pbx.notifier.drain()
    assert pbx.smtp.deliveries == []


async def test_missed_call_from_outside_shows_the_number(pbx: Pbx) -> None:
    pbx.owner(options={"missed_call_email": True})
    await pbx.miss(CallResult.NO_ANSWER, caller="+390612345678")
    assert only_email(pbx)["Subject"] == "Missed call from +390612345678"


async def test_missed_call_through_a_did_reaches_its_owner_with_the_presented_name(
    pbx: Pbx,
) -> None:
    pbx.owner(options={"missed_call_email": True}, dids=["+390611111111"])
    pbx.bus.publish(
        ended_call(
            CallResult.NO_ANSWER,
            caller="+390612345678",
            callee="+390611111111",
            caller_name="Studio Verdi",
            did="+390611111111",
        )
    )
    await pbx.notifier.drain()
    assert pbx.smtp.deliveries[0].recipients == ["anna@example.com"]
    assert only_email(pbx)["Subject"] == "Missed call from +390612345678 Studio Verdi"


async def test_missed_call_without_smtp_host_sends_nothing(pbx: Pbx) -> None:
    pbx.owner(options={"missed_call_email": True})
    pbx.use_smtp(SmtpSettings())
    await pbx.miss(CallResult.NO_ANSWER)
    assert pbx.smtp.deliveries == []


# Life cycle ----------------------------------------------------------------------


async def test_close_waits_for_emails_under_way_and_stops_listening(pbx: Pbx) -> None:
    pbx.owner(options={"missed_call_email": True})
    pbx.bus.publish(ended_call(CallResult.NO_ANSWER))
    await pbx.notifier.close()
    assert len(pbx.smtp.deliveries) == 1
    await pbx.miss(CallResult.NO_ANSWER)
    assert len(pbx.smtp.deliveries) == 1


def test_an_event_outside_an_event_loop_is_dropped_quietly() -> None:
    store = InMemoryStore()
    notifier = EmailNotifier(store, FakeMailboxes(), SmtpMailer(store), FakeClock())
    bus = LocalEventBus()
    notifier.subscribe(bus)
    bus.publish(VoicemailLeft(mailbox="101", message_id="m1"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_authenticated_sending() -> None:
    checker = PasswordChecker("pbx", "s3cret")
    with running_smtp_server(
        authenticator=checker, auth_require_tls=False, auth_required=True
    ) as server:
        store = InMemoryStore()
        store.seed(
            settings=SystemSettings(smtp=server.settings(username="pbx", password="s3cret")),
            extensions=[
                make_extension("101", email="anna@example.com", options={"missed_call_email": True})
            ],
        )
        notifier = EmailNotifier(store, FakeMailboxes(), SmtpMailer(store, timeout=5), FakeClock())
        bus = LocalEventBus()
        notifier.subscribe(bus)
        bus.publish(ended_call(CallResult.NO_ANSWER))
        await notifier.close()
    assert [delivery.login for delivery in server.deliveries] == ["pbx"]
