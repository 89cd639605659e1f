"""SmtpMailer against a real SMTP server (aiosmtpd) and against broken ones."""

from __future__ import annotations

import asyncio
import threading
from email.message import EmailMessage

import pytest

from centralino.domain.settings import SmtpSettings, SystemSettings
from centralino.notify import MailError, SmtpMailer
from centralino.notify import mailer as mailer_module
from tests.fakes import InMemoryStore
from tests.notify.smtp_support import LOOPBACK, PasswordChecker, running_smtp_server


def an_email() -> EmailMessage:
    email = EmailMessage()
    email["From"] = "pbx@example.com"
    email["To"] = "anna@example.com"
    email["Subject"] = "Hello"
    email.set_content("Hello Anna\n")
    return email


def mailer_for(smtp: SmtpSettings, timeout: float = 5) -> SmtpMailer:
    store = InMemoryStore()
    store.seed(settings=SystemSettings(smtp=smtp))
    return SmtpMailer(store, timeout=timeout)


async def test_sends_to_the_recipient() -> None:
    with running_smtp_server() as server:
        assert await mailer_for(server.settings()).send(an_email()) is True
    (delivery,) = server.deliveries
    assert delivery.sender == "pbx@example.com"
    assert delivery.recipients == ["anna@example.com"]
    assert delivery.message["Subject"] == "Hello"
    assert delivery.login is None


async def test_starttls_is_skipped_when_the_server_does_not_offer_it() -> None:
    with running_smtp_server() as server:
        assert await mailer_for(server.settings(starttls=True)).send(an_email()) is True
    assert len(server.deliveries) == 1


async def test_settings_are_read_at_send_time() -> None:
    store = InMemoryStore()
    mailer = SmtpMailer(store, timeout=5)
    assert await mailer.send(an_email()) is False  # email off: no host yet
    with running_smtp_server() as server:
        store.seed(settings=SystemSettings(smtp=server.settings()))
        assert await mailer.send(an_email()) is True
    assert len(server.deliveries) == 1


async def test_no_host_sends_nothing() -> None:
    assert await mailer_for(SmtpSettings()).send(an_email()) is False


async def test_refused_data_is_a_mail_error_with_the_code() -> None:
    with running_smtp_server() as server:
        server.handler.refuse = "550 Mailbox unavailable"
        with pytest.raises(MailError) as caught:
            await mailer_for(server.settings()).send(an_email())
    assert caught.value.code == 550
    assert "Mailbox unavailable" in caught.value.reason


async def test_refused_recipient_is_a_mail_error() -> None:
    with running_smtp_server() as server:
        server.handler.refuse_recipient = "550 No such user"
        with pytest.raises(MailError) as caught:
            await mailer_for(server.settings()).send(an_email())
    assert caught.value.code == 550
    assert server.deliveries == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_logs_in_with_username_and_password() -> None:
    checker = PasswordChecker("pbx", "s3cret")
    with running_smtp_server(
        authenticator=checker, auth_require_tls=False, auth_required=True
    ) as server:
        mailer = mailer_for(server.settings(username="pbx", password="s3cret"))
        assert await mailer.send(an_email()) is True
    assert [delivery.login for delivery in server.deliveries] == ["pbx"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_wrong_password_is_a_mail_error() -> None:
    checker = PasswordChecker("pbx", "s3cret")
    with running_smtp_server(
        authenticator=checker, auth_require_tls=False, auth_required=True
    ) as server:
        mailer = mailer_for(server.settings(username="pbx", password="wrong"))
        with pytest.raises(MailError) as caught:
            await mailer.send(an_email())
    assert caught.value.code == 535
    assert server.deliveries == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_server_requiring_login_refuses_an_anonymous_email() -> None:
    checker = PasswordChecker("pbx", "s3cret")
    with (
        running_smtp_server(
            authenticator=checker, auth_require_tls=False, auth_required=True
        ) as server,
        pytest.raises(MailError),
    ):
        await mailer_for(server.settings()).send(an_email())
    assert server.deliveries == []


async def test_an_unreachable_server_is_a_mail_error() -> None:
    with running_smtp_server() as server:
        closed = server.port
    with pytest.raises(MailError):
        await mailer_for(SmtpSettings(host=LOOPBACK, port=closed, starttls=False)).send(an_email())


async def test_a_silent_server_times_out() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(never_greet, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        mailer = mailer_for(SmtpSettings(host=LOOPBACK, port=port, starttls=False), timeout=0.3)
        async with asyncio.timeout(5):
            with pytest.raises(MailError):
                await mailer.send(an_email())
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_large_attachment_is_encoded_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Non-ASCII text and a WAV of five minutes arrive intact, made 7-bit on a thread."""
    threads: list[str] = []
    original = mailer_module.flatten_message

    def watched(message: EmailMessage, **options: object) -> bytes:
        threads.append(threading.current_thread().name)
        return original(message, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(mailer_module, "flatten_message", watched)
    email = an_email()
    del email["Subject"]
    email["Subject"] = "Nuovo messaggio da Niccolò"
    email.set_content("Messaggio da Niccolò Ågren\n")
    wav = bytes(range(256)) * 18_750  # 4.8 MB: five minutes at 8 kHz, 16 bits
    email.add_attachment(wav, maintype="audio", subtype="wav", filename="messaggio.wav")
    with running_smtp_server() as server:
        assert await mailer_for(server.settings()).send(email) is True
    assert threads
    assert threading.main_thread().name not in threads
    (delivery,) = server.deliveries
    assert delivery.message["Subject"] == "Nuovo messaggio da Niccolò"
    body, attachment = delivery.message.iter_parts()
    assert body.get_content() == "Messaggio da Niccolò Ågren\n"
    assert attachment.get_content() == wav
