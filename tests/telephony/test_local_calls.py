"""The PBX answers calls itself: voicemail routing, the voicemail codes, the Channel.

A scripted loopback phone calls; the engine's applications are scripted too
(no prompts, no mailboxes): they play a tone, wait for keys, record. The
phone sends real RTP (PCMU audio, RFC 4733 events or in-band DTMF) and
checks what the PBX sends back.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import CallEndReason
from centralino.domain.events import CallStateChanged, DomainEvent
from centralino.domain.extension import Extension
from centralino.media.codecs import default_codecs
from centralino.media.dtmf import DtmfSender
from centralino.media.pcm import FRAME_BYTES, samples_from_pcm
from centralino.media.rtp import RtpPacket
from centralino.media.tones import goertzel_power as _goertzel
from centralino.media.tones import multitone, sine
from centralino.sip.sdp import SessionDescription
from centralino.telephony.apps.channel import Channel, HungUp, Recording
from centralino.telephony.apps.screening import ScreeningControl
from centralino.telephony.calls.ports import Application
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, contact_uri, extension, start_calls

PCMU = default_codecs().by_name("PCMU")


def goertzel_power(pcm: bytes, frequency: float) -> float:
    return _goertzel(samples_from_pcm(pcm), frequency)


assert PCMU is not None


def offer(port: int, *, events: bool = True) -> bytes:
    formats = "0 101" if events else "0"
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        "a=rtpmap:0 PCMU/8000",
    ]
    if events:
        lines += ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"]
    return ("\r\n".join([*lines, "a=sendrecv"]) + "\r\n").encode()


@dataclass
class Script:
    """Scripted applications; what they saw is kept for the test."""

    play: bytes = field(default_factory=lambda: sine(400.0, 0.6, amplitude=0.4))
    recordings: list[Recording] = field(default_factory=list)
    digits: list[str | None] = field(default_factory=list)
    started: list[tuple[str, str]] = field(default_factory=list)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    hang_up_after: bool = True

    def _app(self, name: str, owner: Extension) -> Application:
        async def run(channel: Channel) -> None:
            self.started.append((name, owner.number))
            try:
                await channel.play(self.play, interrupt=False)
                self.digits.append(await channel.get_digit(5.0))
                self.recordings.append(await channel.record(max_seconds=3.0))
                if self.hang_up_after:
                    await channel.hang_up()
                await channel.get_digit(0.1)
            except HungUp:
                self.hung_up.set()
                raise

        return run

    def leave_message(self, box: Extension, caller: Extension) -> Application:
        return self._app("leave_message", box)

    def voicemail_menu(self, owner: Extension) -> Application:
        return self._app("voicemail_menu", owner)

    def record_greeting(self, owner: Extension) -> Application:
        return self._app("record_greeting", owner)

    def mailbox_login(self, caller: Extension) -> Application:
        return self._app("mailbox_login", caller)

    def screen_call(self, control: ScreeningControl) -> Application:
        raise AssertionError("no extension is screened here")


@dataclass
class Rig:
    telephony: Telephony
    script: Script
    events: list[CallStateChanged]
    phone: SipPhone
    rtp: socket.socket

    async def ended(self, within: float = 5.0) -> CallStateChanged:
        for _ in range(int(within / 0.05)):
            for event in self.events:
                if event.reason is not None:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no call ended: {self.events}")


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    store = InMemoryStore()
    store.seed(extensions=[extension("101"), extension("102")])
    bus = LocalEventBus()
    events: list[CallStateChanged] = []

    def keep(event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            events.append(event)

    bus.subscribe(keep)
    script = Script()
    telephony, _ = await start_calls(
        store, FakeClock(), bus, media_anchoring=True, applications=script
    )
    phone = SipPhone(telephony.port(), "101")
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.setblocking(False)
    try:
        yield Rig(telephony, script, events, phone, rtp)
    finally:
        phone.close()
        rtp.close()
        await telephony.stop()


async def answered_call(rig: Rig, target: str, *, events: bool = True) -> tuple[object, ...]:
    """Dial ``target`` with an offer on the rig's RTP socket; return the dialog pieces."""
    port = rig.rtp.getsockname()[1]
    dialed = await rig.phone.dial(target, offer(port, events=events))
    ok = await rig.phone.final()
    assert ok.status == 200, (ok.status, ok.reason)
    rig.phone.send(rig.phone.ack_for(dialed.invite, ok))
    for _ in range(40):
        if rig.script.started:
            break
        await asyncio.sleep(0.01)
    answer = SessionDescription.parse(ok.body)
    pbx = (answer.connection.address if answer.connection else "", answer.media[0].port)
    return dialed, ok, answer, pbx


async def receive_audio(sock: socket.socket, seconds: float) -> tuple[bytes, list[RtpPacket]]:
    loop = asyncio.get_running_loop()
    packets: list[RtpPacket] = []
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), left)
        except TimeoutError:
            break
        packets.append(RtpPacket.parse(data))
    assert PCMU is not None
    return b"".join(PCMU.decode(packet.payload) for packet in packets), packets


async def send_audio(
    sock: socket.socket, pbx: tuple[str, int], pcm: bytes, *, start_sequence: int = 1
) -> int:
    """Send PCM as paced PCMU packets; the next sequence number."""
    assert PCMU is not None
    sequence = start_sequence
    for offset in range(0, len(pcm), FRAME_BYTES):
        frame = pcm[offset : offset + FRAME_BYTES]
        packet = RtpPacket(
            payload_type=0,
            sequence_number=sequence,
            timestamp=sequence * 160,
            ssrc=0x1234,
            payload=PCMU.encode(frame),
        )
        sock.sendto(bytes(packet), pbx)
        sequence += 1
        await asyncio.sleep(0.02)
    return sequence


def send_event(sock: socket.socket, pbx: tuple[str, int], digit: str, sequence: int) -> int:
    for planned in DtmfSender().packets(digit, timestamp=sequence * 160):
        packet = planned.rtp(payload_type=101, sequence_number=sequence, ssrc=0x1234)
        sock.sendto(bytes(packet), pbx)
        sequence += 1
    return sequence


async def test_a_call_to_an_unregistered_extension_is_answered_by_its_voicemail(
    rig: Rig,
) -> None:
    _dialed, _ok, answer, pbx = await answered_call(rig, "102")
    assert rig.script.started == [("leave_message", "102")]
    codecs = [str(codec) for codec in answer.media[0].codecs]  # type: ignore[attr-defined]
    assert codecs == ["PCMU/8000", "telephone-event/8000"]
    pcm, packets = await receive_audio(rig.rtp, 1.0)
    assert len(packets) == 30  # 0.6 s of 20 ms frames, then silence
    assert len({packet.ssrc for packet in packets}) == 1
    assert packets[0].marker
    steps = {
        (b.sequence_number - a.sequence_number) & 0xFFFF for a, b in itertools.pairwise(packets)
    }
    assert steps == {1}  # consecutive, even across the 16-bit wrap
    assert goertzel_power(pcm, 400.0) > 100 * goertzel_power(pcm, 1000.0)

    sequence = send_event(rig.rtp, pbx, "5", 1)  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    assert rig.script.digits == ["5"]
    tone = sine(1000.0, 1.0, amplitude=0.4)
    sequence = await send_audio(rig.rtp, pbx, tone, start_sequence=sequence)  # type: ignore[arg-type]
    send_event(rig.rtp, pbx, "#", sequence)  # type: ignore[arg-type]
    bye = await rig.phone.request("BYE")
    rig.phone.answer(bye, 200)
    ended = await rig.ended()
    assert ended.reason is CallEndReason.VOICEMAIL
    (recording,) = rig.script.recordings
    assert recording.key == "#"
    assert 0.9 <= len(recording.pcm) / 16000 <= 1.1
    assert goertzel_power(recording.pcm, 1000.0) > 100 * goertzel_power(recording.pcm, 400.0)
    media = rig.telephony.media
    assert media is not None
    assert media.allocator.in_use == 0


async def test_in_band_keys_are_heard_without_telephone_event(rig: Rig) -> None:
    _dialed, _ok, answer, pbx = await answered_call(rig, "102", events=False)
    codecs = [str(codec) for codec in answer.media[0].codecs]  # type: ignore[attr-defined]
    assert codecs == ["PCMU/8000"]
    await receive_audio(rig.rtp, 0.7)
    key = multitone((770.0, 1336.0), 0.12, amplitude=0.3) + bytes(1600)  # '5'
    await send_audio(rig.rtp, pbx, key)  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    assert rig.script.digits == ["5"]


async def test_the_caller_hanging_up_raises_hung_up_in_the_application(rig: Rig) -> None:
    rig.script.hang_up_after = False
    dialed, ok, _answer, pbx = await answered_call(rig, "102")
    sequence = send_event(rig.rtp, pbx, "1", 1)  # type: ignore[arg-type]
    await asyncio.sleep(0.8)  # the prompt ends, the key is read, recording starts
    await send_audio(rig.rtp, pbx, sine(1000.0, 0.4), start_sequence=sequence)  # type: ignore[arg-type]
    phone = rig.phone
    phone.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),  # type: ignore[attr-defined]
        remote=ok.headers.to_address(),  # type: ignore[attr-defined]
        call_id=dialed.invite.headers.call_id(),  # type: ignore[attr-defined]
        target=contact_uri(ok),  # type: ignore[arg-type]
    )
    assert (await phone.final("BYE")).status == 200
    await asyncio.wait_for(rig.script.hung_up.wait(), 8.0)
    ended = await rig.ended()
    assert ended.reason is CallEndReason.VOICEMAIL
    (recording,) = rig.script.recordings
    assert recording.end.value == "hung_up"
    assert 0.3 <= len(recording.pcm) / 16000 <= 0.5


@pytest.mark.parametrize(
    ("code", "application"),
    [("*97", "voicemail_menu"), ("*96", "record_greeting"), ("*98", "mailbox_login")],
)
async def test_the_voicemail_codes_run_the_owner_applications(
    rig: Rig, code: str, application: str
) -> None:
    await answered_call(rig, code)
    assert rig.script.started == [(application, "101")]


async def test_an_offer_without_common_audio_gets_488(rig: Rig) -> None:
    body = (
        offer(40000)
        .replace(b"RTP/AVP 0 101", b"RTP/AVP 18 101")
        .replace(b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:18 G729/8000")
    )
    await rig.phone.dial("102", body)
    final = await rig.phone.final()
    assert final.status == 488
    assert rig.script.started == []


async def test_sip_info_keys_and_a_re_invite_while_the_pbx_answers(rig: Rig) -> None:
    dialed, ok, _answer, _pbx = await answered_call(rig, "102")
    phone = rig.phone
    local = dialed.invite.headers.from_address()  # type: ignore[attr-defined]
    remote = ok.headers.to_address()  # type: ignore[attr-defined]
    call_id = dialed.invite.headers.call_id()  # type: ignore[attr-defined]
    target = contact_uri(ok)  # type: ignore[arg-type]
    phone.cseq += 1
    info = phone.new_request(
        "INFO",
        str(target),
        to=str(remote),
        call_id=call_id,
        tag=local.tag or "",
        extra=[("Content-Type", "application/dtmf-relay")],
        body=b"Signal=7\r\nDuration=160\r\n",
    )
    phone.send(info)
    assert (await phone.final("INFO")).status == 200
    reinvite = phone.in_dialog(
        "INVITE",
        local=local,
        remote=remote,
        call_id=call_id,
        target=target,
        body=offer(rig.rtp.getsockname()[1]),
    )
    refreshed = await phone.final("INVITE")
    assert refreshed.status == 200
    assert refreshed.body == ok.body  # type: ignore[attr-defined]
    phone.send(phone.ack_for(reinvite, refreshed))
    await asyncio.sleep(0.8)  # the prompt ends, the key is read
    assert rig.script.digits == ["7"]


@pytest.mark.parametrize(
    ("anchoring", "applications"), [(True, None), (False, Script())], ids=["none", "no-anchor"]
)
async def test_without_applications_or_anchoring_voicemail_answers_480(
    anchoring: bool, applications: Script | None
) -> None:
    store = InMemoryStore()
    store.seed(extensions=[extension("101"), extension("102")])
    telephony, _ = await start_calls(
        store, FakeClock(), LocalEventBus(), media_anchoring=anchoring, applications=applications
    )
    phone = SipPhone(telephony.port(), "101")
    try:
        await phone.dial("102")
        final = await phone.final()
        assert (final.status, final.reason) == (480, "Voicemail not available")
    finally:
        phone.close()
        await telephony.stop()


async def test_a_delayed_offer_gets_the_pbx_offer_and_the_answer_in_the_ack(rig: Rig) -> None:
    dialed = await rig.phone.dial("102", b"")
    ok = await rig.phone.final()
    assert ok.status == 200
    pbx_offer = SessionDescription.parse(ok.body)
    offered = {str(codec) for codec in pbx_offer.media[0].codecs}
    assert {"PCMU/8000", "PCMA/8000", "telephone-event/8000"} <= offered
    answer = offer(rig.rtp.getsockname()[1])  # PCMU + telephone-event, as the answer
    rig.phone.send(rig.phone.ack_for(dialed.invite, ok, body=answer))
    pcm, packets = await receive_audio(rig.rtp, 1.0)
    assert len(packets) == 30
    assert {packet.payload_type for packet in packets} == {0}
    assert goertzel_power(pcm, 400.0) > 100 * goertzel_power(pcm, 1000.0)
    pbx = ("127.0.0.1", pbx_offer.media[0].port)
    send_event(rig.rtp, pbx, "3", 1)
    await asyncio.sleep(0.2)
    assert rig.script.digits == ["3"]


async def test_a_delayed_offer_without_an_answer_in_the_ack_is_hung_up(rig: Rig) -> None:
    dialed = await rig.phone.dial("102", b"")
    ok = await rig.phone.final()
    assert ok.status == 200
    rig.phone.send(rig.phone.ack_for(dialed.invite, ok))
    bye = await rig.phone.request("BYE")
    rig.phone.answer(bye, 200)
    assert rig.script.started == []
