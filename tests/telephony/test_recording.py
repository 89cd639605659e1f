"""CallRecorder: which calls are recorded, what is stored, when, and the drain."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from centralino.app import build_engine
from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import CallEndReason, CallState
from centralino.domain.events import CallStateChanged
from centralino.domain.extension import Extension
from centralino.media.pcm import samples_from_pcm, split_frames
from centralino.media.tones import goertzel_power, sine
from centralino.telephony.engine import TelephonySettings
from centralino.telephony.media.taps import MediaTap, TapDirection
from centralino.telephony.recording import CallRecorder
from tests.fakes import FakeClock, FakeRecordings, InMemoryStore
from tests.telephony.calls_support import extension
from tests.telephony.registrar_support import InMemoryLocationStore


@dataclass
class FakeMedia:
    """Anchored calls that accept taps; the test plays audio and ends calls."""

    anchored: set[str] = field(default_factory=set)
    taps: dict[str, list[MediaTap]] = field(default_factory=dict)

    def add_tap(self, call_id: str, tap: MediaTap) -> bool:
        if call_id not in self.anchored:
            return False
        self.taps.setdefault(call_id, []).append(tap)
        return True

    def play(self, call_id: str, direction: TapDirection, pcm: bytes, start: float) -> None:
        for index, frame in enumerate(split_frames(pcm)):
            for tap in self.taps.get(call_id, []):
                tap.frame(direction, frame, start + index * 0.02)

    def release(self, call_id: str) -> None:
        for tap in self.taps.pop(call_id, []):
            tap.closed()


@dataclass
class FakeDirectory:
    extensions: dict[str, Extension] = field(default_factory=dict)

    def by_number(self, number: str) -> Extension | None:
        return self.extensions.get(number)


@dataclass
class Rig:
    media: FakeMedia
    directory: FakeDirectory
    recordings: FakeRecordings
    clock: FakeClock
    bus: LocalEventBus
    recorder: CallRecorder

    def call(
        self, call_id: str, state: CallState, caller: str = "101", callee: str = "102"
    ) -> None:
        reason = CallEndReason.CALLER_HUNG_UP if state is CallState.ENDED else None
        self.bus.publish(
            CallStateChanged(
                call_id=call_id, caller=caller, callee=callee, state=state, reason=reason
            )
        )


def _rig(recordings: FakeRecordings | None = None, *recording_numbers: str) -> Rig:
    directory = FakeDirectory(
        {
            number: extension(number, options={"record_all_calls": number in recording_numbers})
            for number in ("101", "102", "103")
        }
    )
    media, clock, bus = FakeMedia(), FakeClock(), LocalEventBus()
    recordings = recordings or FakeRecordings()
    recorder = CallRecorder(media, directory, recordings, clock)
    recorder.subscribe(bus)
    return Rig(media, directory, recordings, clock, bus, recorder)


def _talk(rig: Rig, call_id: str, seconds: float = 1.0) -> None:
    rig.media.play(call_id, TapDirection.FROM_CALLER, sine(697, seconds), 100.0)
    rig.media.play(call_id, TapDirection.FROM_CALLEE, sine(1209, seconds), 100.0)


@pytest.mark.parametrize("who", ["101", "102"])
async def test_a_call_of_an_extension_with_the_option_is_recorded(who: str) -> None:
    rig = _rig(None, who)
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.RINGING)
    rig.clock.advance(seconds=5)
    answered_at = rig.clock.now()
    rig.call("c1", CallState.ANSWERED)
    assert rig.recorder.recording == {"c1"}
    rig.clock.advance(seconds=60)
    _talk(rig, "c1", 1.0)
    rig.media.release("c1")
    rig.call("c1", CallState.ENDED)
    assert rig.recorder.recording == frozenset()
    await rig.recorder.close()
    [stored] = rig.recordings.stored
    assert stored.recording.call_id == "c1"
    assert (stored.recording.caller, stored.recording.callee) == ("101", "102")
    assert stored.recording.started_at == answered_at
    assert stored.recording.duration == pytest.approx(1.0, abs=0.021)
    samples = samples_from_pcm(stored.pcm)
    assert goertzel_power(samples, 697) > 1e6
    assert goertzel_power(samples, 1209) > 1e6


async def test_no_option_no_recording() -> None:
    rig = _rig(None, "103")
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.ANSWERED)
    assert rig.media.taps == {}
    rig.media.release("c1")
    await rig.recorder.close()
    assert rig.recordings.stored == []


async def test_ringing_alone_attaches_nothing_and_answer_attaches_once() -> None:
    rig = _rig(None, "101")
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.RINGING)
    assert rig.media.taps == {}
    rig.call("c1", CallState.ANSWERED)
    rig.call("c1", CallState.ANSWERED)
    assert len(rig.media.taps["c1"]) == 1


async def test_unknown_numbers_and_unanchored_calls_are_not_recorded() -> None:
    rig = _rig(None, "101")
    rig.call("c1", CallState.ANSWERED, caller="+390612345678", callee="555")
    rig.call("c2", CallState.ANSWERED)  # the option is on, but no media to tap
    assert rig.recorder.recording == frozenset()
    await rig.recorder.close()
    assert rig.recordings.stored == []


async def test_a_call_without_audio_is_not_stored() -> None:
    rig = _rig(None, "101")
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.ANSWERED)
    rig.media.release("c1")
    await rig.recorder.close()
    assert rig.recordings.stored == []


async def test_close_waits_for_the_stores_in_progress() -> None:
    rig = _rig(FakeRecordings(delay=0.05), "101")
    for call_id in ("c1", "c2"):
        rig.media.anchored.add(call_id)
        rig.call(call_id, CallState.ANSWERED)
        _talk(rig, call_id, 0.2)
        rig.media.release(call_id)
    assert rig.recorder.pending == 2
    await rig.recorder.close()
    assert rig.recorder.pending == 0
    assert sorted(stored.recording.call_id for stored in rig.recordings.stored) == ["c1", "c2"]
    rig.media.anchored.add("c3")
    rig.call("c3", CallState.ANSWERED)  # closed: no longer following calls
    assert "c3" not in rig.media.taps


async def test_a_failed_store_is_logged_and_does_not_stop_others() -> None:
    rig = _rig(FakeRecordings(fail=True), "101")
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.ANSWERED)
    _talk(rig, "c1", 0.2)
    rig.media.release("c1")
    await rig.recorder.close()
    assert rig.recordings.stored == []
    assert rig.recorder.pending == 0


def test_a_tap_closed_without_a_running_loop_is_dropped() -> None:
    rig = _rig(None, "101")
    rig.media.anchored.add("c1")
    rig.call("c1", CallState.ANSWERED)
    _talk(rig, "c1", 0.2)
    rig.media.release("c1")
    assert rig.recorder.pending == 0


@pytest.mark.parametrize(
    ("anchoring", "with_port", "expected"),
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_the_engine_records_when_media_is_anchored_and_a_port_is_given(
    anchoring: bool, with_port: bool, expected: bool
) -> None:
    telephony = build_engine(
        TelephonySettings(bind="127.0.0.1", port=0, media_anchoring=anchoring),
        units=InMemoryStore(),
        store=InMemoryLocationStore(),
        events=LocalEventBus(),
        clock=FakeClock(),
        recordings=FakeRecordings() if with_port else None,
    )
    assert (telephony.recorder is not None) is expected
