"""Call screening on real sockets: a scripted caller and callee, the real applications.

Extension 102 has ``call_screening`` on. The caller (101) is answered by the
PBX, says its "name" (a 700 Hz tone) and presses ``#``; the PBX rings 102
with its own offer; 102 answers, hears the name, and presses 1 (the two are
bridged: each hears the other's tone) or 2 (102 is hung up, the caller goes
to 102's voicemail and leaves a message). Prompts are short tones so the
test runs quickly; the flow is the production one.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.media.pcm import samples_from_pcm
from centralino.media.tones import goertzel_power, sine
from centralino.sip.message import Request
from centralino.sip.sdp import SessionDescription
from centralino.telephony.apps.launcher import VoicemailApplications
from centralino.telephony.apps.prompts import Prompts
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.apps.fakes import InMemoryMailboxes
from tests.telephony.calls_support import SipPhone, extension, start_calls
from tests.telephony.test_local_calls import offer, receive_audio, send_audio, send_event

NAME_TONE = 700.0


def short_prompts() -> Prompts:
    names = Prompts.load().names
    return Prompts({name: sine(300.0, 0.05, amplitude=0.1) for name in names})


@dataclass
class Rig:
    telephony: Telephony
    mailboxes: InMemoryMailboxes
    caller: SipPhone
    callee: SipPhone
    caller_rtp: socket.socket
    callee_rtp: socket.socket


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    store = InMemoryStore()
    screened = extension("102", options={"call_screening": True}, email=None)
    store.seed(extensions=[extension("101"), screened])
    mailboxes = InMemoryMailboxes()
    mailboxes.set_greeting("102", sine(300.0, 0.1, amplitude=0.1))
    applications = VoicemailApplications(mailboxes, prompts=short_prompts())
    telephony, _ = await start_calls(
        store, FakeClock(), LocalEventBus(), media_anchoring=True, applications=applications
    )
    caller, callee = SipPhone(telephony.port(), "101"), SipPhone(telephony.port(), "102")
    sockets = udp(), udp()
    try:
        assert (await callee.register()).status == 200
        yield Rig(telephony, mailboxes, caller, callee, *sockets)
    finally:
        caller.close()
        callee.close()
        for sock in sockets:
            sock.close()
        await telephony.stop()


def power(pcm: bytes, frequency: float) -> float:
    return goertzel_power(samples_from_pcm(pcm), frequency)


async def say_name_and_get_rung(rig: Rig) -> tuple[tuple[str, int], tuple[str, int], Request]:
    """The caller is answered, says its name; the callee is rung and answers."""
    dialed = await rig.caller.dial("102", offer(rig.caller_rtp.getsockname()[1]))
    ok = await rig.caller.final()
    assert ok.status == 200
    rig.caller.send(rig.caller.ack_for(dialed.invite, ok))
    answer = SessionDescription.parse(ok.body)
    pbx_a = ("127.0.0.1", answer.media[0].port)
    await asyncio.sleep(0.5)  # the short prompt and the beep
    sequence = await send_audio(rig.caller_rtp, pbx_a, sine(NAME_TONE, 0.8, amplitude=0.4))
    send_event(rig.caller_rtp, pbx_a, "#", sequence)
    invite = await rig.callee.request("INVITE", wait=5.0)
    pbx_offer = SessionDescription.parse(invite.body)
    codecs = {str(codec) for codec in pbx_offer.media[0].codecs}
    assert {"PCMU/8000", "PCMA/8000", "telephone-event/8000"} <= codecs
    pbx_b = ("127.0.0.1", pbx_offer.media[0].port)
    rig.callee.answer(invite, 200, body=offer(rig.callee_rtp.getsockname()[1]))
    await rig.callee.request("ACK")
    return pbx_a, pbx_b, invite


async def test_the_callee_hears_the_name_accepts_and_both_talk(rig: Rig) -> None:
    pbx_a, pbx_b, _invite = await say_name_and_get_rung(rig)
    heard, _ = await receive_audio(rig.callee_rtp, 1.2)
    assert power(heard, NAME_TONE) > 50 * power(heard, 1000.0)
    send_event(rig.callee_rtp, pbx_b, "1", 1)
    await asyncio.sleep(0.3)
    for sock in (rig.caller_rtp, rig.callee_rtp):  # forget what was queued before the bridge
        while True:
            try:
                sock.recv(2048)
            except BlockingIOError:
                break
    talk = asyncio.gather(
        send_audio(rig.caller_rtp, pbx_a, sine(1000.0, 1.0, amplitude=0.4), start_sequence=500),
        send_audio(rig.callee_rtp, pbx_b, sine(1500.0, 1.0, amplitude=0.4), start_sequence=500),
    )
    (at_callee, _), (at_caller, _) = await asyncio.gather(
        receive_audio(rig.callee_rtp, 1.2), receive_audio(rig.caller_rtp, 1.2)
    )
    await talk
    assert power(at_callee, 1000.0) > 50 * power(at_callee, 1500.0)
    assert power(at_caller, 1500.0) > 50 * power(at_caller, 1000.0)
    assert rig.mailboxes.calls == []
    (live,) = rig.telephony.calls.calls()
    assert live.state.value == "answered"
    assert rig.telephony.calls.calls_in_progress("102") == 1


async def test_a_refused_call_goes_to_the_voicemail(rig: Rig) -> None:
    pbx_a, pbx_b, _invite = await say_name_and_get_rung(rig)
    await receive_audio(rig.callee_rtp, 0.8)
    send_event(rig.callee_rtp, pbx_b, "2", 1)
    bye = await rig.callee.request("BYE", wait=3.0)
    rig.callee.answer(bye, 200)
    await asyncio.sleep(0.5)  # greeting and beep
    sequence = await send_audio(
        rig.caller_rtp, pbx_a, sine(1200.0, 1.5, amplitude=0.4), start_sequence=900
    )
    send_event(rig.caller_rtp, pbx_a, "#", sequence)
    for _ in range(50):
        if rig.mailboxes.calls:
            break
        await asyncio.sleep(0.05)
    assert rig.mailboxes.calls == [("leave_message", "102")]
    (message,) = await rig.mailboxes.messages("102")
    assert message.caller == "101"
    audio = await rig.mailboxes.message_audio("102", message.id)
    assert power(audio, 1200.0) > 50 * power(audio, NAME_TONE)


async def test_the_callee_hanging_up_during_the_announcement_sends_the_caller_on(
    rig: Rig,
) -> None:
    _pbx_a, _pbx_b, invite = await say_name_and_get_rung(rig)
    await receive_audio(rig.callee_rtp, 0.3)
    answered_to = invite.headers.to_address().with_tag("callee")
    rig.callee.in_dialog(
        "BYE",
        local=answered_to,
        remote=invite.headers.from_address(),
        call_id=invite.headers.call_id(),
        target=invite.headers.contacts()[0].uri,  # type: ignore[index]
    )
    assert (await rig.callee.final("BYE")).status == 200
    _heard, packets = await receive_audio(rig.caller_rtp, 1.5)
    assert packets  # the caller hears the voicemail greeting, not a hang-up
    assert await rig.caller.silent("BYE", 0.2)
    (live,) = rig.telephony.calls.calls()
    assert rig.telephony.calls.calls_in_progress("101") == 1
    assert live.caller == "101"


async def test_the_callee_may_accept_with_a_sip_info_key(rig: Rig) -> None:
    _pbx_a, _pbx_b, invite = await say_name_and_get_rung(rig)
    await receive_audio(rig.callee_rtp, 0.3)
    answered_to = invite.headers.to_address().with_tag("callee")
    rig.callee.cseq += 1
    info = rig.callee.new_request(
        "INFO",
        str(invite.headers.contacts()[0].uri),  # type: ignore[index]
        to=str(invite.headers.from_address()),
        call_id=invite.headers.call_id(),
        tag=answered_to.tag or "",
        extra=[("Content-Type", "application/dtmf-relay")],
        body=b"Signal=1\r\nDuration=160\r\n",
    )
    rig.callee.send(info)
    assert (await rig.callee.final("INFO")).status == 200
    for _ in range(40):
        if rig.telephony.calls.calls_in_progress("102"):
            break
        await asyncio.sleep(0.05)
    (live,) = rig.telephony.calls.calls()
    assert rig.telephony.calls.calls_in_progress("102") == 1  # bridged: 102 is in the call
    assert live.state.value == "answered"
    assert await rig.caller.silent("INFO", 0.2)  # the key was not relayed to the caller
