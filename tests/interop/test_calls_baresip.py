"""Two baresip phones call each other through Centralino; the audio gets through.

Phone 101 plays a 1 kHz tone, phone 102 a 1.5 kHz tone (WAV microphones).
Both register with generated credentials, 101 dials 102, 102 answers
automatically, after a few seconds 101 hangs up. Media is anchored (the
default): each phone's SDP names the PBX, so RTP flows phone -> PBX -> phone;
the anchor's statistics show both legs latched on the phones' own RTP ports
(from their ``rtp_ports`` ranges) with packets both ways. 102's recording of
what it received must carry 101's 1 kHz tone, and hardly any 1.5 kHz (and
the other way round for 101).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from centralino.admin.calls import CallsService
from centralino.domain.calls import CallEndReason, CallState
from tests.interop.baresip_support import goertzel_power, make_phone, read_samples, until
from tests.interop.calls_support import CallEngine, Processes, call_engine

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

TALK_SECONDS = 3.0


@pytest.fixture
async def engine() -> AsyncIterator[CallEngine]:
    async with call_engine() as running:
        yield running


async def test_two_baresip_phones_talk_through_the_pbx(engine: CallEngine, tmp_path: Path) -> None:
    caller = make_phone(tmp_path, "101", 1000.0, 41000, "manual")
    callee = make_phone(tmp_path, "102", 1500.0, 41100, "auto")
    processes = Processes(tmp_path)
    registrar = engine.telephony.registrar
    listed = CallsService(engine.telephony.live_calls())  # as GET /api/v1/calls, built at start
    try:
        for phone in (caller, callee):
            phone.configure(engine.port, seconds=30)
            await processes.start("baresip", "-f", str(phone.root))
        await until(
            lambda: registrar.contacts("101") and registrar.contacts("102"), 15, "registration"
        )
        await caller.command("dial", f"sip:102@127.0.0.1:{engine.port}")
        await until(lambda: CallState.ANSWERED in _states(engine), 10, "answer")
        [live] = listed.calls()
        assert (live.caller, live.callee, live.state) == ("101", "102", CallState.ANSWERED)
        await asyncio.sleep(TALK_SECONDS)
        _assert_anchored(engine, caller_ports=range(41000, 41010), callee_ports=range(41100, 41110))
        await caller.command("hangup")
        ended = await engine.wait_ended()
        assert ended.reason is CallEndReason.CALLER_HUNG_UP
        await until(lambda: callee.received_recordings(), 5, "recording")
        await until(lambda: caller.received_recordings(), 5, "recording")
        await asyncio.sleep(0.5)  # let the sndfile module close the file
    finally:
        for phone in (caller, callee):
            with contextlib.suppress(OSError):
                await phone.command("quit")
        await processes.stop_all()
    _assert_tone(callee.received_recordings()[-1], wanted=1000.0, unwanted=1500.0)
    _assert_tone(caller.received_recordings()[-1], wanted=1500.0, unwanted=1000.0)


def _assert_tone(recording: Path, *, wanted: float, unwanted: float) -> None:
    samples, rate = read_samples(recording)
    assert len(samples) > rate  # more than a second of audio arrived
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    found = goertzel_power(middle, rate, wanted)
    stray = goertzel_power(middle, rate, unwanted)
    assert found > 1e6, (recording.name, found)
    assert found > 1000 * max(stray, 1e-9), (recording.name, found, stray)


def _assert_anchored(engine: CallEngine, *, caller_ports: range, callee_ports: range) -> None:
    """Both phones send to the PBX, which relays to the ports they send from."""
    media = engine.telephony.media
    assert media is not None
    stats = media.stats(engine.events[0].call_id)
    assert stats is not None
    packets = TALK_SECONDS * 50 / 2  # 20 ms packets: at least half of them
    for leg, ports in ((stats.caller, caller_ports), (stats.callee, callee_ports)):
        assert leg.latched
        assert leg.remote is not None
        assert leg.remote[1] in ports, leg
        assert leg.local_port not in ports
        assert leg.packets_received > packets, leg
        assert leg.packets_sent > packets, leg
        assert leg.codec == "PCMU"
        assert leg.packets_lost == 0


def _states(engine: CallEngine) -> list[CallState]:
    return [event.state for event in engine.events]
