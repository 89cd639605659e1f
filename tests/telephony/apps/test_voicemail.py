"""The voicemail applications over a scripted channel and in-memory mailboxes."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from centralino.domain.extension import Extension
from centralino.domain.ports import Mailboxes
from centralino.domain.voicemail import MessageFolder
from centralino.telephony.apps.channel import Channel, RecordEnd
from centralino.telephony.apps.prompts import Prompts
from centralino.telephony.apps.voicemail import (
    VoicemailLimits,
    leave_message,
    record_greeting,
    voicemail_menu,
)
from tests.telephony.apps.fakes import (
    During,
    HangUp,
    InMemoryMailboxes,
    Keys,
    ScriptedChannel,
    Speak,
    Timeout,
    labelled_prompts,
    seconds_of_audio,
)

ROME = zoneinfo.ZoneInfo("Europe/Rome")
PROMPTS = labelled_prompts()
GREETING = seconds_of_audio(3, fill=7)
SPEECH = seconds_of_audio(5, fill=9)
MESSAGE_MENU = "message-menu"
RECEIVED_AT = dt.datetime(2026, 12, 1, 10, 5, tzinfo=ROME)
ANNOUNCE_DATE = ["weekday-1", "month-12", "ordinal-1", "at", "10", "oh", "5", "am"]
CALLER_DIGITS = ["plus", "3", "9", "0", "6", "1", "2"]


def extension(number: str = "101", **voicemail: Any) -> Extension:
    document: dict[str, Any] = {
        "number": number,
        "auth_id": f"user{number}",
        "auth_password": "secret-password-123",
        "voicemail": {"pin": "1234", **voicemail},
    }
    return Extension.model_validate(document)


def channel(*script: Any, prompts: Prompts = PROMPTS) -> ScriptedChannel:
    fake = ScriptedChannel(prompts, script)
    fake.label("GREETING", GREETING)
    fake.label("SPEECH", SPEECH)
    return fake


def test_the_fakes_follow_the_ports() -> None:
    mailboxes: Mailboxes = InMemoryMailboxes()
    phone: Channel = channel()
    assert mailboxes is not None
    assert phone.caller == "+390612345678"


# Leaving a message ---------------------------------------------------------


async def test_default_prompt_beep_record_and_pound_saves() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(SPEECH))
    message = await leave_message(phone, mailboxes, extension(), PROMPTS)
    assert message is not None
    assert (message.caller, message.caller_name) == ("+390612345678", "Mario Rossi")
    assert await mailboxes.message_audio("101", message.id) == SPEECH
    assert phone.said() == [
        "person-at-extension",
        "1",
        "0",
        "1",
        "not-available",
        "BEEP",
        "message-saved-goodbye",
    ]
    assert phone.records == [{"max_seconds": 180.0, "stop_keys": "#", "silence": None}]
    assert phone.hung_up_by_pbx


async def test_the_active_greeting_replaces_the_default_prompt() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.set_greeting("101", GREETING)
    phone = channel(Speak(SPEECH))
    await leave_message(phone, mailboxes, extension(), PROMPTS)
    assert phone.said()[:2] == ["GREETING", "BEEP"]


async def test_a_key_during_the_greeting_skips_to_the_beep_and_is_forgotten() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(During("#", on="person-at-extension"), Speak(SPEECH))
    message = await leave_message(phone, mailboxes, extension(), PROMPTS)
    assert message is not None
    assert phone.said() == ["person-at-extension", "BEEP", "message-saved-goodbye"]
    assert phone.plays[0].interrupted_by == "#"
    assert not phone.plays[1].interrupt


async def test_hanging_up_while_recording_keeps_the_message_silently() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(SPEECH, end=RecordEnd.HUNG_UP, key=None))
    message = await leave_message(phone, mailboxes, extension(), PROMPTS)
    assert message is not None
    assert mailboxes.calls == [("leave_message", "101")]
    assert phone.said()[-1] == "BEEP"
    assert not phone.hung_up_by_pbx


async def test_max_length_saves_and_says_goodbye() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(SPEECH, end=RecordEnd.MAX_LENGTH, key=None))
    limits = VoicemailLimits(max_message_seconds=5, silence_seconds=4)
    assert await leave_message(phone, mailboxes, extension(), PROMPTS, limits) is not None
    assert phone.records == [{"max_seconds": 5, "stop_keys": "#", "silence": 4}]
    assert phone.said()[-1] == "message-saved-goodbye"


async def test_a_too_short_message_is_dropped() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(seconds_of_audio(0.5)))
    assert await leave_message(phone, mailboxes, extension(), PROMPTS) is None
    assert await mailboxes.messages("101") == []
    assert phone.said()[-1] == "message-too-short"
    assert phone.hung_up_by_pbx


async def test_a_too_short_message_dropped_on_hang_up_too() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(seconds_of_audio(0.2), end=RecordEnd.HUNG_UP, key=None))
    assert await leave_message(phone, mailboxes, extension(), PROMPTS) is None
    assert mailboxes.calls == []


async def test_hanging_up_during_the_greeting_leaves_nothing() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(HangUp())
    assert await leave_message(phone, mailboxes, extension(), PROMPTS) is None
    assert mailboxes.calls == []


async def test_a_mailbox_that_is_off_takes_no_message() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(SPEECH))
    assert await leave_message(phone, mailboxes, extension(enabled=False), PROMPTS) is None
    assert phone.said() == ["mailbox-unavailable"]
    assert phone.hung_up_by_pbx


# The owner's menu: the PIN --------------------------------------------------


async def test_the_right_pin_opens_the_mailbox() -> None:
    phone = channel(Keys("1234#"), Keys("*"))
    await voicemail_menu(phone, InMemoryMailboxes(), extension(), PROMPTS, own_phone=False)
    assert phone.said() == [
        "enter-pin",
        "you-have",
        "no",
        "new-messages",
        "and",
        "no",
        "saved-messages",
        "main-menu",
        "goodbye",
    ]
    assert phone.hung_up_by_pbx


async def test_a_pause_ends_the_pin_and_star_starts_it_again() -> None:
    phone = channel(Keys("99*1234"), Timeout(), Keys("*"))
    await voicemail_menu(phone, InMemoryMailboxes(), extension(), PROMPTS, own_phone=False)
    assert "you-have" in phone.said()


async def test_a_wrong_pin_is_asked_again() -> None:
    phone = channel(Keys("4321#"), Keys("1234#"), Keys("*"))
    await voicemail_menu(phone, InMemoryMailboxes(), extension(), PROMPTS, own_phone=False)
    assert phone.said()[:4] == ["enter-pin", "wrong-pin", "enter-pin", "you-have"]


async def test_three_wrong_pins_say_goodbye_and_hang_up() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH)
    phone = channel(Keys("1#"), Keys("2#"), Timeout(), Keys("1234#"))
    await voicemail_menu(phone, mailboxes, extension(), PROMPTS, own_phone=False)
    assert phone.said() == [
        "enter-pin",
        "wrong-pin",
        "enter-pin",
        "wrong-pin",
        "enter-pin",
        "goodbye",
    ]
    assert phone.hung_up_by_pbx
    assert phone.left() == [Keys("1234#")]


async def test_the_own_phone_skips_the_pin_when_not_required() -> None:
    phone = channel(Keys("*"))
    owner = extension(require_pin=False)
    await voicemail_menu(phone, InMemoryMailboxes(), owner, PROMPTS, own_phone=True)
    assert phone.said()[0] == "you-have"


@pytest.mark.parametrize(("own_phone", "require_pin"), [(True, True), (False, False)])
async def test_the_pin_is_asked_otherwise(own_phone: bool, require_pin: bool) -> None:
    phone = channel(Keys("1234#"), Keys("*"))
    owner = extension(require_pin=require_pin)
    await voicemail_menu(phone, InMemoryMailboxes(), owner, PROMPTS, own_phone=own_phone)
    assert phone.said()[0] == "enter-pin"


# The owner's menu: messages -----------------------------------------------


def mailbox_with_messages() -> tuple[InMemoryMailboxes, list[str]]:
    """Two new messages and one saved one; their ids newest first within folders."""
    mailboxes = InMemoryMailboxes()
    older = mailboxes.add("101", seconds_of_audio(2, 1), received_at=RECEIVED_AT)
    saved = mailboxes.add(
        "101",
        seconds_of_audio(2, 3),
        received_at=RECEIVED_AT + dt.timedelta(hours=2),
        folder=MessageFolder.SAVED,
    )
    newer = mailboxes.add("101", seconds_of_audio(2, 2), received_at=RECEIVED_AT.replace(hour=11))
    return mailboxes, [newer.id, older.id, saved.id]


def owner_channel(*script: Any) -> ScriptedChannel:
    phone = channel(*script)
    phone.label("OLDER", seconds_of_audio(2, 1))
    phone.label("NEWER", seconds_of_audio(2, 2))
    phone.label("SAVED", seconds_of_audio(2, 3))
    return phone


async def menu(phone: ScriptedChannel, mailboxes: InMemoryMailboxes, **voicemail: Any) -> None:
    owner = extension(require_pin=False, **voicemail)
    await voicemail_menu(phone, mailboxes, owner, PROMPTS, own_phone=True, tz=ROME)


def heard(said: list[str]) -> list[str]:
    """Only the messages' audio, in order."""
    return [label for label in said if label in {"OLDER", "NEWER", "SAVED"}]


async def test_counts_then_new_messages_then_saved_ones_newest_first() -> None:
    mailboxes, _ = mailbox_with_messages()
    phone = owner_channel(Keys("#"), Keys("#"), Keys("#"), Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    said = phone.said()
    assert said[:7] == ["you-have", "2", "new-messages", "and", "1", "saved-message", "NEWER"]
    assert heard(said) == ["NEWER", "OLDER", "SAVED"]
    assert said[-3:] == ["no-more-messages", "main-menu", "goodbye"]


async def test_singular_counts() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH)
    phone = owner_channel(Keys("*"))
    await menu(phone, mailboxes)
    assert phone.said()[:6] == ["you-have", "1", "new-message", "and", "no", "saved-messages"]


async def test_caller_id_and_date_are_announced() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH, caller="+39 0612", received_at=RECEIVED_AT)
    phone = owner_channel(Keys("*"), Keys("*"))
    await menu(phone, mailboxes)
    said = phone.said()
    start = said.index("message-from")
    assert said[start:] == [
        "message-from",
        *CALLER_DIGITS,
        "received",
        *ANNOUNCE_DATE,
        "SPEECH",
        MESSAGE_MENU,
        "main-menu",
        "goodbye",
    ]


async def test_the_date_is_said_in_the_given_zone() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH, received_at=RECEIVED_AT.astimezone(dt.UTC))
    phone = owner_channel(Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=False)
    said = phone.said()
    assert said[said.index("received") + 1 :][:8] == ANNOUNCE_DATE


async def test_an_unknown_caller_is_said_so() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH, caller="anonymous")
    phone = owner_channel(Keys("*"))
    await menu(phone, mailboxes, announce_datetime=False)
    said = phone.said()
    assert said[said.index("message-from") + 1] == "unknown-caller"


@pytest.mark.parametrize(
    ("caller_id", "datetime", "expected"),
    [
        (True, False, ["message-from", *CALLER_DIGITS, "SPEECH"]),
        (False, True, ["received", *ANNOUNCE_DATE, "SPEECH"]),
        (False, False, ["SPEECH"]),
    ],
)
async def test_announcements_follow_the_settings(
    caller_id: bool, datetime: bool, expected: list[str]
) -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH, caller="+390612", received_at=RECEIVED_AT)
    phone = owner_channel(Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=caller_id, announce_datetime=datetime)
    said = phone.said()
    start = said.index("saved-messages") + 1
    assert said[start : start + len(expected)] == expected


async def test_replay_delete_save_and_next() -> None:
    mailboxes, (newer, older, saved) = mailbox_with_messages()
    # NEWER: replay then delete; OLDER: save; SAVED: next; then hang up.
    phone = owner_channel(Keys("1"), Keys("7"), Keys("9"), Keys("#"), HangUp())
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    said = phone.said()
    assert heard(said) == ["NEWER", "NEWER", "OLDER", "SAVED"]
    assert "message-deleted" in said
    assert "message-saved" in said
    assert mailboxes.folder_of("101", newer) is None
    assert mailboxes.folder_of("101", older) is MessageFolder.SAVED
    assert mailboxes.folder_of("101", saved) is MessageFolder.SAVED
    assert mailboxes.calls == [("delete_message", newer), ("save_message", older)]
    assert not phone.hung_up_by_pbx


async def test_a_new_message_heard_to_its_end_is_saved_when_left() -> None:
    mailboxes, (newer, older, _) = mailbox_with_messages()
    phone = owner_channel(Keys("#"), HangUp(on="OLDER"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert mailboxes.folder_of("101", newer) is MessageFolder.SAVED
    assert mailboxes.folder_of("101", older) is MessageFolder.NEW


async def test_a_new_message_heard_then_hung_up_on_is_saved() -> None:
    mailboxes, (newer, _, _) = mailbox_with_messages()
    phone = owner_channel(HangUp())
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert mailboxes.folder_of("101", newer) is MessageFolder.SAVED


async def test_a_message_skipped_before_its_end_stays_new() -> None:
    mailboxes, (newer, _, _) = mailbox_with_messages()
    phone = owner_channel(During("#", on="NEWER"), HangUp())
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert mailboxes.folder_of("101", newer) is MessageFolder.NEW
    assert heard(phone.said()) == ["NEWER", "OLDER"]


async def test_keys_typed_during_the_announcement_act_at_once() -> None:
    mailboxes, (newer, _, _) = mailbox_with_messages()
    phone = owner_channel(During("7", on="message-from"), HangUp())
    await menu(phone, mailboxes)
    said = phone.said()
    assert said[said.index("message-from") + 1] == "message-deleted"
    assert mailboxes.calls[0] == ("delete_message", newer)


async def test_a_menu_key_typed_during_the_menu_prompt() -> None:
    mailboxes, (newer, _, _) = mailbox_with_messages()
    phone = owner_channel(During("9", on=MESSAGE_MENU), HangUp(on="OLDER"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert mailboxes.calls == [("save_message", newer)]
    assert phone.plays[2].interrupted_by == "9"


async def test_an_invalid_key_is_said_and_the_menu_repeated() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH)
    phone = owner_channel(Keys("5"), Keys("#"), Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    said = phone.said()
    start = said.index("SPEECH")
    assert said[start:] == [
        "SPEECH",
        MESSAGE_MENU,
        "invalid-key",
        MESSAGE_MENU,
        "no-more-messages",
        "main-menu",
        "goodbye",
    ]


async def test_no_answer_to_a_menu_ends_the_call() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH)
    phone = owner_channel(Timeout(), Timeout(), Timeout())
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert phone.said()[-4:] == [MESSAGE_MENU, MESSAGE_MENU, MESSAGE_MENU, "goodbye"]
    assert phone.hung_up_by_pbx


async def test_listen_again_reads_the_mailbox_again() -> None:
    mailboxes = InMemoryMailboxes()
    first = mailboxes.add("101", SPEECH)
    phone = owner_channel(Keys("7"), Keys("1"), Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    said = phone.said()
    assert said.count("you-have") == 2
    assert said[-8:] == [
        "you-have",
        "no",
        "new-messages",
        "and",
        "no",
        "saved-messages",
        "main-menu",
        "goodbye",
    ]
    assert mailboxes.folder_of("101", first.id) is None


async def test_a_message_deleted_meanwhile_is_skipped() -> None:
    mailboxes, (newer, _, _) = mailbox_with_messages()
    listed = await mailboxes.messages("101")
    await mailboxes.delete_message("101", newer)
    original = mailboxes.messages

    async def stale(mailbox: str) -> list[Any]:
        await original(mailbox)
        return list(listed)

    mailboxes.messages = stale  # type: ignore[method-assign]
    phone = owner_channel(Keys("#"), HangUp())
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    assert heard(phone.said())[0] == "OLDER"


# Greetings ----------------------------------------------------------------


async def test_record_a_greeting_and_keep_it() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(GREETING), Keys("1"))
    greeting = await record_greeting(phone, mailboxes, extension(), PROMPTS)
    assert greeting is not None
    assert await mailboxes.active_greeting("101") == GREETING
    assert phone.said() == [
        "record-greeting",
        "BEEP",
        "GREETING",
        "keep-greeting",
        "greeting-saved",
        "goodbye",
    ]
    assert phone.records[0]["max_seconds"] == 60.0
    assert phone.hung_up_by_pbx


async def test_record_a_greeting_again_then_keep_the_second() -> None:
    mailboxes = InMemoryMailboxes()
    second = seconds_of_audio(2, fill=5)
    phone = channel(Speak(GREETING), Keys("2"), Speak(second), During("1", on="SECOND"))
    phone.label("SECOND", second)
    greeting = await record_greeting(phone, mailboxes, extension(), PROMPTS)
    assert greeting is not None
    assert [pcm for _, pcm in mailboxes.greetings("101")] == [second]
    assert phone.said()[-6:] == [
        "keep-greeting",
        "record-greeting",
        "BEEP",
        "SECOND",
        "greeting-saved",
        "goodbye",
    ]


async def test_a_too_short_greeting_is_recorded_again() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(b""), Speak(GREETING), Keys("1"))
    assert await record_greeting(phone, mailboxes, extension(), PROMPTS) is not None
    assert phone.said()[:4] == ["record-greeting", "BEEP", "greeting-too-short", "record-greeting"]


async def test_hanging_up_before_keeping_drops_the_greeting() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(GREETING), HangUp())
    assert await record_greeting(phone, mailboxes, extension(), PROMPTS) is None
    assert mailboxes.calls == []
    phone = channel(Speak(GREETING, end=RecordEnd.HUNG_UP, key=None))
    assert await record_greeting(phone, mailboxes, extension(), PROMPTS) is None
    assert mailboxes.calls == []


async def test_no_answer_after_the_playback_drops_the_greeting() -> None:
    mailboxes = InMemoryMailboxes()
    phone = channel(Speak(GREETING), Timeout(), Timeout(), Timeout())
    assert await record_greeting(phone, mailboxes, extension(), PROMPTS) is None
    assert phone.said()[-1] == "goodbye"
    assert mailboxes.calls == []


async def test_mailbox_options_record_a_greeting_then_back_to_the_main_menu() -> None:
    mailboxes = InMemoryMailboxes()
    phone = owner_channel(Keys("0"), Keys("1"), Speak(GREETING), Keys("1"), Keys("*"))
    await menu(phone, mailboxes)
    assert await mailboxes.active_greeting("101") == GREETING
    said = phone.said()
    assert said[said.index("mailbox-options") :] == [
        "mailbox-options",
        "record-greeting",
        "BEEP",
        "GREETING",
        "keep-greeting",
        "greeting-saved",
        "main-menu",
        "goodbye",
    ]


async def test_mailbox_options_from_the_message_menu() -> None:
    mailboxes = InMemoryMailboxes()
    mailboxes.add("101", SPEECH)
    phone = owner_channel(Keys("0"), Keys("*"), Keys("*"))
    await menu(phone, mailboxes, announce_caller_id=False, announce_datetime=False)
    said = phone.said()
    assert said[said.index(MESSAGE_MENU) :] == [
        MESSAGE_MENU,
        "mailbox-options",
        "main-menu",
        "goodbye",
    ]
