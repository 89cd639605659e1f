"""Voicemail end to end: a real ``centralino serve``, real phones, a real SMTP server.

One PBX process for the module (``voicemail_support.running_pbx``: temporary
data directory, free HTTP/SIP ports, a small RTP range), extensions created
through the REST API, SMTP settings pointing at an aiosmtpd server of the
test. Each test uses its own mailbox:

* 102: a baresip phone (101, a WAV tone as its microphone) calls 102, who is
  not registered: the PBX answers with the default greeting and the beep
  (the caller's received audio has the 1 kHz beep right after the greeting),
  records, and after a few seconds 101 hangs up. The message is listed with
  caller 101 and about the talk time; its WAV holds the caller's tone from
  start to end and no beep nor prompt; the email to 102 (attach mode)
  reaches the SMTP server with the same audio attached.
* 103: a SIPp caller (101) leaves a message (PCMU tone, then '#' as an
  RFC 4733 event: the PBX thanks and hangs up); then SIPp as 103 dials
  ``*97`` and sends the PIN, '#', '9' (save) and '*' as RFC 4733
  telephone-events; the message moves to the ``saved`` folder. The keys
  come while the counts are said, before the message is played, so only
  the '9' can have saved it (a message heard to its end is saved on leaving).
* 104: SIPp as 104 dials ``*96``, sends a tone after the prompt and the
  beep, '#' to stop and '1' to keep it: the greeting is listed, active,
  and holds the tone.

SIPp plays captures (``<exec play_pcap_audio>``) written by the test from
RTP packets built with ``centralino.media`` (``pcap_support``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from centralino.media.pcm import SAMPLE_RATE
from centralino.media.tones import BEEP_FREQUENCY, beep
from centralino.telephony.apps.prompts import Prompts
from tests.interop.baresip_support import goertzel_power, make_phone, read_samples
from tests.interop.calls_support import SCENARIOS, Processes, free_port
from tests.interop.pcap_support import RtpStream
from tests.interop.voicemail_support import (
    PASSWORD,
    PIN,
    Pbx,
    baresip_ask,
    free_range,
    running_pbx,
    wav_samples,
)
from tests.notify.smtp_support import SmtpServer, running_smtp_server, tone

pytestmark = [pytest.mark.interop]

needs_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")
needs_baresip = pytest.mark.skipif(
    shutil.which("baresip") is None, reason="baresip is not installed"
)

CALLER_TONE = 600.0
"""The callers' tone: far from the 1 kHz beep, so the two tell apart."""
TALK_SECONDS = 3.0
EMAIL = "ada@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[Pbx]:
    with running_pbx(tmp_path_factory.mktemp("pbx")) as running:
        running.use_smtp(smtp.port)
        running.create_extension("101", first_name="Bob")
        running.create_extension("102", email=EMAIL, voicemail={"pin": PIN, "email_mode": "attach"})
        running.create_extension("103")
        running.create_extension("104")
        yield running


# Audio checks ----------------------------------------------------------------------


def _tone_share(samples: list[int], frequency: float) -> float:
    """How much of the energy of ``samples`` is at ``frequency`` (0..1)."""
    energy = sum(s * s for s in samples) / max(len(samples), 1)
    # goertzel_power is |X|^2 / N^2; a pure sine of power P gives about P / 2.
    return 2 * goertzel_power(samples, SAMPLE_RATE, frequency) / max(energy, 1e-9)


def _assert_only_tone(samples: list[int], frequency: float) -> None:
    """Every quarter second carries the tone and hardly anything else (no prompt, no beep)."""
    window = SAMPLE_RATE // 4
    assert len(samples) >= 4 * window
    for start in range(0, len(samples) - window + 1, window):
        part = samples[start : start + window]
        where = f"at {start / SAMPLE_RATE:.2f} s"
        assert _tone_share(part, frequency) > 0.8, where
        assert _tone_share(part, BEEP_FREQUENCY) < 0.01, where


def _first_window(samples: list[int], frequency: float) -> float | None:
    """When (seconds) the first 50 ms window dominated by ``frequency`` starts."""
    window = SAMPLE_RATE // 20
    for start in range(0, len(samples) - window + 1, window):
        if _tone_share(samples[start : start + window], frequency) > 0.5:
            return start / SAMPLE_RATE
    return None


def _seconds(pcm: list[bytes]) -> float:
    return sum(len(part) for part in pcm) / (2 * SAMPLE_RATE)


def _tone_pcm(seconds: float) -> bytes:
    return tone(seconds, CALLER_TONE)


# SIPp --------------------------------------------------------------------------------


async def _sipp_call(
    root: Path, pbx: Pbx, *, caller: str, service: str, stream: RtpStream, within: float
) -> str:
    """SIPp as ``caller`` dials ``service`` and plays ``stream`` until the PBX hangs up."""
    work = root / f"sipp-{caller}-{service.strip('*')}"
    work.mkdir()
    stream.write(work / "rtp.pcap")
    processes = Processes(work)
    command = [
        "sipp", "-sf", str(SCENARIOS / "vm_uac_pcap.xml"), "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_range(4)), "-m", "1",
        "-timeout", f"{int(within)}s", "-timeout_error", "-nostdin", "-trace_err",
        "-s", service, "-set", "caller", caller, "-au", f"user{caller}", "-ap", PASSWORD,
        f"127.0.0.1:{pbx.sip_port}",
    ]  # fmt: skip
    try:
        process = await processes.start(*command)
        return await processes.finish(process, within + 5)
    finally:
        await processes.stop_all()


# Tests ---------------------------------------------------------------------------------


@needs_baresip
async def test_a_baresip_caller_leaves_a_message_listed_played_and_emailed(
    pbx: Pbx, smtp: SmtpServer, tmp_path: Path
) -> None:
    prompts = Prompts.load()
    before_recording = _seconds(prompts.default_greeting("102")) + _seconds([beep()])
    caller = make_phone(tmp_path, "101", CALLER_TONE, free_range(10), "manual")
    caller.configure(pbx.sip_port, seconds=30)
    processes = Processes(tmp_path)
    try:
        await processes.start("baresip", "-f", str(caller.root))
        answer = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30  # generous: CI machines may be loaded
        while "OK" not in answer:
            assert loop.time() < deadline, f"baresip did not register: {answer!r}"
            with contextlib.suppress(OSError, TimeoutError):
                answer = await baresip_ask(caller.ctrl_port, "reginfo")
            await asyncio.sleep(0.2)
        await baresip_ask(caller.ctrl_port, "dial", f"sip:102@127.0.0.1:{pbx.sip_port}")
        await asyncio.sleep(before_recording + TALK_SECONDS)
        await baresip_ask(caller.ctrl_port, "hangup")
        listed = await asyncio.to_thread(
            pbx.wait_for, lambda: pbx.messages("102"), 10, "no message for 102"
        )
        await asyncio.to_thread(pbx.wait_for, caller.received_recordings, 5, "no recording")
        await asyncio.sleep(0.5)  # let the sndfile module close the file
    finally:
        with contextlib.suppress(OSError, TimeoutError):
            await baresip_ask(caller.ctrl_port, "quit")
        await processes.stop_all()

    # The caller heard the greeting, then the beep.
    heard, rate = read_samples(caller.received_recordings()[-1])
    assert rate == SAMPLE_RATE
    beep_at = _first_window(heard, BEEP_FREQUENCY)
    assert beep_at is not None, "the caller never heard the beep"
    greeting = _seconds(prompts.default_greeting("102"))
    assert greeting - 0.5 <= beep_at <= greeting + 1.5, (beep_at, greeting)

    assert len(listed) == 1, listed
    message = listed[0]
    assert (message["caller"], message["caller_name"], message["folder"]) == ("101", "Bob", "new")
    assert TALK_SECONDS - 1.0 < message["duration"] < TALK_SECONDS + 1.0, message
    wav = pbx.message_audio("102", message["id"])
    samples = wav_samples(wav)
    assert abs(len(samples) / SAMPLE_RATE - message["duration"]) < 0.05
    _assert_only_tone(samples[: len(samples) - SAMPLE_RATE // 10], CALLER_TONE)

    delivery = await asyncio.to_thread(
        pbx.wait_for, lambda: smtp.deliveries, 10, "no voicemail email"
    )
    assert len(delivery) == 1
    assert delivery[0].recipients == [EMAIL]
    assert delivery[0].sender == "pbx@example.com"
    assert "101" in delivery[0].message["Subject"], delivery[0].message["Subject"]
    attachments = list(delivery[0].message.iter_attachments())
    assert [part.get_content_type() for part in attachments] == ["audio/wav"]
    assert wav_samples(attachments[0].get_content()) == samples


@needs_sipp
async def test_the_owner_saves_a_message_with_rfc4733_keys(pbx: Pbx, tmp_path: Path) -> None:
    prompts = Prompts.load()
    # 101 leaves a message: the tone past the greeting and the beep, then '#'.
    before_recording = _seconds(prompts.default_greeting("103")) + _seconds([beep()])
    message_stream = RtpStream()
    message_stream.audio(_tone_pcm(before_recording + 0.5 + TALK_SECONDS))
    message_stream.keys("#")
    await _sipp_call(tmp_path, pbx, caller="101", service="103", stream=message_stream, within=30)
    [left] = pbx.wait_for(lambda: pbx.messages("103"), 5, "no message for 103")
    assert (left["caller"], left["folder"]) == ("101", "new")
    assert TALK_SECONDS - 0.5 < left["duration"] < TALK_SECONDS + 1.5, left
    _assert_only_tone(wav_samples(pbx.message_audio("103", left["id"]))[:-800], CALLER_TONE)

    # 103 dials *97: PIN and '#' during "enter your PIN", then '9' (save)
    # and '*' (main menu) while the counts are said: the PBX says goodbye.
    keys = RtpStream()
    keys.pause(0.5)
    keys.keys(PIN + "#")
    keys.pause(1.0)
    keys.keys("9")
    keys.pause(0.5)
    keys.keys("*")
    await _sipp_call(tmp_path, pbx, caller="103", service="*97", stream=keys, within=30)
    [after] = pbx.messages("103")
    assert (after["id"], after["folder"]) == (left["id"], "saved")


@needs_sipp
async def test_the_owner_records_a_greeting_from_the_phone(pbx: Pbx, tmp_path: Path) -> None:
    prompts = Prompts.load()
    assert pbx.greetings("104") == []
    # 104 dials *96: keys before the beep are ignored, so the tone runs past
    # the prompt and the beep; '#' ends the recording, '1' (during the
    # playback) keeps it, and the PBX says goodbye.
    before_recording = _seconds(prompts.say("record-greeting")) + _seconds([beep()])
    stream = RtpStream()
    stream.audio(_tone_pcm(before_recording + 0.5 + TALK_SECONDS))
    stream.keys("#")
    stream.pause(0.3)
    stream.keys("1")
    await _sipp_call(tmp_path, pbx, caller="104", service="*96", stream=stream, within=30)
    [greeting] = pbx.greetings("104")
    assert greeting["active"] is True
    assert TALK_SECONDS - 0.5 < greeting["duration"] < TALK_SECONDS + 1.5, greeting
    samples = wav_samples(pbx.greeting_audio("104", greeting["id"]))
    _assert_only_tone(samples[:-800], CALLER_TONE)


# Message waiting ------------------------------------------------------------------------

MWI_TALK_SECONDS = 1.0


def _traced(trace: Path) -> str:
    """What SIPp's message trace (``-trace_msg``) holds so far."""
    return trace.read_text(errors="replace") if trace.exists() else ""


async def _until_traced(trace: Path, text: str, within: float) -> bool:
    """Whether SIPp's message trace holds ``text`` within ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if text in await asyncio.to_thread(_traced, trace):
            return True
        await asyncio.sleep(0.1)
    return False


@needs_sipp
async def test_a_subscribed_lamp_lights_with_a_left_message_and_goes_off_on_delete(
    pbx: Pbx, tmp_path: Path
) -> None:
    """105: SIPp as 105 subscribes to its own message-summary (digest auth) and
    gets "no, 0/0"; SIPp as 101 leaves a message for 105 (not registered, so
    voicemail answers): the subscriber gets "yes, 1/0" from the real
    VoicemailService -> MailboxChanged -> message-waiting path; the message is
    deleted through the REST API: "no, 0/0"; then SIPp unsubscribes. The
    scenario (vm_mwi_subscribe.xml) checks each NOTIFY's body itself."""
    pbx.create_extension("105")
    assert pbx.messages("105") == []
    work = tmp_path / "sipp-105-mwi"
    work.mkdir()
    trace = work / "messages.log"
    processes = Processes(work)
    command = [
        "sipp", "-sf", str(SCENARIOS / "vm_mwi_subscribe.xml"), "-i", "127.0.0.1",
        "-p", str(free_port()), "-m", "1", "-timeout", "40s", "-timeout_error", "-nostdin",
        "-trace_err", "-trace_msg", "-message_file", str(trace),
        "-s", "105", "-au", "user105", "-ap", PASSWORD, f"127.0.0.1:{pbx.sip_port}",
    ]  # fmt: skip
    try:
        subscriber = await processes.start(*command)
        # The first NOTIFY (the lamp off) has come: the subscription is in place.
        assert await _until_traced(trace, "Voice-Message: 0/0", 10), pbx.tail()

        prompts = Prompts.load()
        before_recording = _seconds(prompts.default_greeting("105")) + _seconds([beep()])
        stream = RtpStream()
        stream.audio(_tone_pcm(before_recording + 0.5 + MWI_TALK_SECONDS))
        stream.keys("#")
        await _sipp_call(tmp_path, pbx, caller="101", service="105", stream=stream, within=20)
        [left] = await asyncio.to_thread(
            pbx.wait_for, lambda: pbx.messages("105"), 5, "no message for 105"
        )
        assert (left["caller"], left["folder"]) == ("101", "new")

        # Delete once the lamp has lit (else the scenario fails on its own check).
        await _until_traced(trace, "Voice-Message: 1/0", 5)
        url = f"/api/v1/extensions/105/voicemail/messages/{left['id']}"
        deleted = await asyncio.to_thread(pbx.api.delete, url)
        assert deleted.status_code == 204, deleted.text
        try:
            await processes.finish(subscriber, 20)
        except AssertionError as error:
            log = _traced(trace)[-4000:]
            raise AssertionError(
                f"{error}\nSIPp messages:\n{log}\nPBX log:\n{pbx.tail()}"
            ) from None
    finally:
        await processes.stop_all()
    assert pbx.messages("105") == []
