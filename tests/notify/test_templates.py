"""The email templates: pure functions of domain values."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.domain.settings import NetworkSettings, SmtpSettings, SystemSettings
from centralino.domain.voicemail import VoicemailMessage
from centralino.media.wav import encode_wav
from centralino.notify.templates import (
    Caller,
    attachment_name,
    format_duration,
    missed_call_email,
    sender_address,
    voicemail_email,
)

RECEIVED = dt.datetime(2024, 3, 4, 9, 15, 30, tzinfo=dt.UTC)


def a_message(**fields: object) -> VoicemailMessage:
    values: dict[str, object] = {
        "id": "m1",
        "mailbox": "101",
        "caller": "102",
        "caller_name": "Mario Rossi",
        "received_at": RECEIVED,
        "duration": 23.4,
    } | fields
    return VoicemailMessage(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00"), (0.4, "0:00"), (23.4, "0:23"), (59.6, "1:00"), (725, "12:05"), (3723, "1:02:03")],
)
def test_durations(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_caller_labels() -> None:
    assert Caller(number="102", name="Mario Rossi").label == "102 Mario Rossi"
    assert Caller(number="102").label == "102"
    assert Caller(number="102", name="102").label == "102"
    assert Caller(number="").label == "unknown"


def test_a_display_name_with_line_breaks_stays_on_one_line() -> None:
    caller = Caller(number="102", name="Mario\r\nBcc: victim@example.com")
    email = missed_call_email(
        caller=caller,
        callee_name="101 Anna",
        at=RECEIVED,
        sender="pbx@example.com",
        recipient="anna@example.com",
    )
    assert email["Subject"] == "Missed call from 102 Mario Bcc: victim@example.com"
    assert email["Bcc"] is None


def test_sender_is_the_configured_one() -> None:
    settings = SystemSettings(smtp=SmtpSettings(host="smtp.example.com", sender="pbx@example.com"))
    assert sender_address(settings) == "pbx@example.com"


def test_default_sender_uses_the_public_host_then_the_smtp_host() -> None:
    smtp = SmtpSettings(host="smtp.example.com")
    assert sender_address(SystemSettings(smtp=smtp)) == "centralino@smtp.example.com"
    public = NetworkSettings(public_host="pbx.example.com")
    assert sender_address(SystemSettings(smtp=smtp, network=public)) == "centralino@pbx.example.com"
    literal = SmtpSettings(host="192.0.2.1")
    assert sender_address(SystemSettings(smtp=literal)) == "centralino@[192.0.2.1]"


def test_attachment_name_is_safe_for_any_caller() -> None:
    assert attachment_name(a_message(), RECEIVED) == "voicemail-20240304-091530-102.wav"
    odd = a_message(caller="+39 06/1234")
    assert attachment_name(odd, RECEIVED) == "voicemail-20240304-091530-+39_06_1234.wav"
    assert (
        attachment_name(a_message(caller=""), RECEIVED) == "voicemail-20240304-091530-unknown.wav"
    )


def test_voicemail_notice() -> None:
    email = voicemail_email(
        a_message(),
        caller=Caller(number="102", name="Mario Rossi"),
        mailbox_name="101 Anna Bianchi",
        received=RECEIVED,
        sender="pbx@example.com",
        recipient="anna@example.com",
    )
    assert email["Subject"] == "New voicemail from 102 Mario Rossi (0:23)"
    assert email["To"] == "anna@example.com"
    assert "pbx@example.com" in email["From"]
    assert email["Date"] == "Mon, 04 Mar 2024 09:15:30 +0000"
    assert not email.is_multipart()
    text = email.get_content()
    for expected in ("102 Mario Rossi", "2024-03-04 09:15:30 UTC", "0:23", "101 Anna Bianchi"):
        assert expected in text


def test_voicemail_with_the_wav() -> None:
    wav = encode_wav(b"\x01\x00" * 800)
    email = voicemail_email(
        a_message(),
        caller=Caller(number="102"),
        mailbox_name="101",
        received=RECEIVED,
        sender="pbx@example.com",
        recipient="anna@example.com",
        wav=wav,
    )
    (attachment,) = email.iter_attachments()
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_content() == wav
    assert "attached" in (email.get_body(preferencelist=("plain",)) or email).get_content()


def test_times_are_shown_in_the_zone_given() -> None:
    rome = dt.timezone(dt.timedelta(hours=1), "CET")
    email = missed_call_email(
        caller=Caller(number="102"),
        callee_name="101",
        at=RECEIVED.astimezone(rome),
        sender="pbx@example.com",
        recipient="anna@example.com",
    )
    assert "2024-03-04 10:15:30 CET" in email.get_content()
