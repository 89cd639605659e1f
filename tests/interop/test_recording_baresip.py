"""Record all calls, with two real baresip phones: one WAV holds both parties.

Phone 101 plays a 1 kHz tone, phone 102 a 1.5 kHz tone (WAV microphones).
102 has ``record_all_calls``; 101 dials 102, 102 answers automatically, they
talk for a few seconds, 101 hangs up. The engine's anchored media feeds both
directions to the call recorder, which files one mixed PCM through the
``CallRecordings`` port (an in-memory fake here): it must hold both tones,
all along, and last about as long as the call. Without the option nothing
is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from centralino.domain.calls import CallEndReason, CallState
from centralino.media.pcm import SAMPLE_RATE, samples_from_pcm
from centralino.media.tones import goertzel_power
from tests.fakes import FakeRecordings
from tests.interop.baresip_support import make_phone, until
from tests.interop.calls_support import CallEngine, Processes, call_engine
from tests.telephony.calls_support import extension

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

TALK_SECONDS = 4.0
CALLER_TONE, CALLEE_TONE = 1000.0, 1500.0


@contextlib.asynccontextmanager
async def _engine(recordings: FakeRecordings, *, record: bool) -> AsyncIterator[CallEngine]:
    callee = extension("102", options={"record_all_calls": record})
    async with call_engine(("101",), extensions=[callee], recordings=recordings) as engine:
        yield engine


async def _call(engine: CallEngine, root: Path) -> float:
    """101 calls 102, they talk, 101 hangs up; returns the call's length (answer to end)."""
    caller = make_phone(root, "101", CALLER_TONE, 42000, "manual")
    callee = make_phone(root, "102", CALLEE_TONE, 42100, "auto")
    processes = Processes(root)
    registrar = engine.telephony.registrar
    loop = asyncio.get_running_loop()
    try:
        for phone in (caller, callee):
            phone.configure(engine.port, seconds=30)
            await processes.start("baresip", "-f", str(phone.root))
        await until(
            lambda: registrar.contacts("101") and registrar.contacts("102"), 15, "registration"
        )
        await caller.command("dial", f"sip:102@127.0.0.1:{engine.port}")
        await until(
            lambda: CallState.ANSWERED in [event.state for event in engine.events], 10, "answer"
        )
        answered = loop.time()
        await asyncio.sleep(TALK_SECONDS)
        await caller.command("hangup")
        ended = await engine.wait_ended()
        length = loop.time() - answered
        assert ended.reason is CallEndReason.CALLER_HUNG_UP
    finally:
        for phone in (caller, callee):
            with contextlib.suppress(OSError):
                await phone.command("quit")
        await processes.stop_all()
    return length


async def test_the_recording_holds_both_parties(tmp_path: Path) -> None:
    recordings = FakeRecordings()
    async with _engine(recordings, record=True) as engine:
        clock_at_answer = engine.telephony.clock.now()
        length = await _call(engine, tmp_path)
        recorder = engine.telephony.recorder
        assert recorder is not None
        await until(lambda: recordings.stored, 5, "the recording is stored")
    [stored] = recordings.stored
    recording, pcm = stored.recording, stored.pcm
    call_id = engine.events[0].call_id
    assert (recording.call_id, recording.caller, recording.callee) == (call_id, "101", "102")
    assert recording.started_at == clock_at_answer
    # From the first packet after the answer to the hang-up.
    assert recording.duration == pytest.approx(length, abs=0.5)
    samples = samples_from_pcm(pcm)
    tone_power = 16000**2 / 2  # the phones' WAVs are half scale
    for second in range(1, int(recording.duration) - 1):
        block = samples[second * SAMPLE_RATE : (second + 1) * SAMPLE_RATE]
        for tone in (CALLER_TONE, CALLEE_TONE):
            power = goertzel_power(block, tone)
            assert power == pytest.approx(tone_power, rel=0.3), (second, tone, power)
        assert goertzel_power(block, 1250.0) < tone_power / 1000  # no stray tone


async def test_without_the_option_nothing_is_recorded(tmp_path: Path) -> None:
    recordings = FakeRecordings()
    async with _engine(recordings, record=False) as engine:
        await _call(engine, tmp_path)
        recorder = engine.telephony.recorder
        assert recorder is not None
        assert recorder.recording == frozenset()
        assert recorder.pending == 0
    assert recordings.stored == []
