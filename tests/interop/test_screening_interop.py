"""Call screening end to end: a real ``centralino serve``, a baresip caller, a SIPp callee.

One PBX process for the module (``voicemail_support.running_pbx``);
extensions 101 and 102 created through the REST API, 102 with
``options.call_screening`` on. In each test SIPp registers as 102 (digest)
and then waits on the same port for the PBX's INVITE
(``scenarios/screen_uas_*.xml``: the offer must be the PBX's own, with PCMA
and telephone-event); it answers and plays a capture written by the test:
an RFC 4733 key at 0.5 s, then a 1500 Hz tone (its "voice"). The caller is
a baresip phone (101) whose microphone is a 600 Hz tone (its "name", then
its voice) and which records what it receives.

* Accept (``1``): the caller hears the screening prompt and its beep, then
  (after its name, "please hold" and the ringback) 102's 1500 Hz tone; no
  voicemail message is left (the caller stays on long enough for one to
  be recorded had the PBX taken the key for a refusal); the caller hangs up
  and SIPp gets the BYE.
* Refuse (``2``): SIPp gets the PBX's BYE right after the key (its scenario
  fails if it does not come within 4 s); the caller goes to 102's voicemail,
  keeps talking past the greeting and the beep, and a message from 101 with
  the 600 Hz tone is listed through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from centralino.media.pcm import SAMPLE_RATE
from centralino.media.tones import BEEP_FREQUENCY, beep, sine
from centralino.telephony.apps.prompts import Prompts
from tests.interop.baresip_support import BaresipPhone, goertzel_power, make_phone, read_samples
from tests.interop.calls_support import SCENARIOS, Processes, free_port
from tests.interop.pcap_support import RtpStream
from tests.interop.voicemail_support import (
    PASSWORD,
    Pbx,
    baresip_ask,
    free_range,
    running_pbx,
    wav_samples,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

CALLER_TONE = 600.0
"""The caller's name and voice: far from the beep, the ringback and the callee."""
CALLEE_TONE = 1500.0
"""The screened callee's voice once it answered."""
NAME_SECONDS = 4.0
"""The longest name the PBX records (the caller never presses '#')."""
RINGBACK = (440.0, 480.0)
CALLEE_TALKS = 8.0
TALK_SECONDS = 3.0


def _seconds(pcm: list[bytes]) -> float:
    return sum(len(part) for part in pcm) / (2 * SAMPLE_RATE)


PROMPTS = Prompts.load()
UNTIL_BEEP = _seconds(PROMPTS.say("screening-say-name"))
"""From the PBX's answer to the screening beep."""
UNTIL_RINGING = (
    UNTIL_BEEP + _seconds([beep()]) + NAME_SECONDS + _seconds(PROMPTS.say("screening-please-hold"))
)
"""From the PBX's answer to its INVITE to 102 (the name is recorded in full)."""
UNTIL_VOICEMAIL = _seconds(PROMPTS.default_greeting("102")) + _seconds([beep()])
"""From the refusal to the voicemail beep."""


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    with running_pbx(tmp_path_factory.mktemp("pbx")) as running:
        running.create_extension("101", first_name="Bob")
        running.create_extension("102", options={"call_screening": True})
        yield running


# Audio checks ------------------------------------------------------------------------


def _share(samples: list[int], frequency: float) -> float:
    """How much of the energy of ``samples`` is at ``frequency`` (0..1)."""
    energy = sum(s * s for s in samples) / max(len(samples), 1)
    return 2 * goertzel_power(samples, SAMPLE_RATE, frequency) / max(energy, 1e-9)


def _windows(samples: list[int], *frequencies: float) -> list[float]:
    """Start times (s) of the 100 ms windows dominated by ``frequencies`` together.

    Times are in the received audio: baresip writes only the frames it got,
    and the PBX sends nothing while it records the name.
    """
    window = SAMPLE_RATE // 10
    return [
        start / SAMPLE_RATE
        for start in range(0, len(samples) - window + 1, window)
        if sum(_share(samples[start : start + window], f) for f in frequencies) > 0.7
    ]


# Peers -------------------------------------------------------------------------------


def _sipp(scenario: str, port: int, pbx: Pbx, *args: str) -> list[str]:
    return [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_range(4)), "-m", "1", "-timeout", "45s", "-timeout_error",
        "-nostdin", "-trace_err", "-s", "102", *args, f"127.0.0.1:{pbx.sip_port}",
    ]  # fmt: skip


async def _screened_phone(
    processes: Processes, pbx: Pbx, scenario: str, key: str
) -> asyncio.subprocess.Process:
    """SIPp registers as 102, then waits on that port to answer and press ``key``."""
    stream = RtpStream()
    stream.pause(0.5)
    stream.keys(key)
    stream.audio(sine(CALLEE_TONE, CALLEE_TALKS, amplitude=0.5))
    stream.write(processes.cwd / "rtp.pcap")
    port = free_port()
    register = await processes.start(
        *_sipp("call_register.xml", port, pbx, "-au", "user102", "-ap", PASSWORD)
    )
    await processes.finish(register, 15)
    return await processes.start(*_sipp(scenario, port, pbx))


async def _dial(pbx: Pbx, caller: BaresipPhone) -> None:
    """Start baresip registered as 101 and dial 102."""
    answer = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while "OK" not in answer:
        assert loop.time() < deadline, f"baresip did not register: {answer!r}"
        with contextlib.suppress(OSError, TimeoutError):
            answer = await baresip_ask(caller.ctrl_port, "reginfo")
        await asyncio.sleep(0.2)
    await baresip_ask(caller.ctrl_port, "dial", f"sip:102@127.0.0.1:{pbx.sip_port}")


async def _hang_up(pbx: Pbx, caller: BaresipPhone) -> list[int]:
    """The caller hangs up; what it heard."""
    await baresip_ask(caller.ctrl_port, "hangup")
    await asyncio.to_thread(pbx.wait_for, caller.received_recordings, 5, "no recording")
    await asyncio.sleep(0.5)  # let the sndfile module close the file
    heard, rate = read_samples(caller.received_recordings()[-1])
    assert rate == SAMPLE_RATE
    return heard


# Tests ---------------------------------------------------------------------------------


async def test_the_screened_extension_accepts_with_1_and_the_two_talk(
    pbx: Pbx, tmp_path: Path
) -> None:
    assert pbx.messages("102") == []
    processes = Processes(tmp_path)
    caller = make_phone(tmp_path, "101", CALLER_TONE, free_range(10), "manual")
    # Long enough for a message to be left had the PBX taken '1' for a refusal.
    talk_until = UNTIL_RINGING + 1.0 + UNTIL_VOICEMAIL + TALK_SECONDS
    caller.configure(pbx.sip_port, seconds=talk_until + 10)
    try:
        callee = await _screened_phone(processes, pbx, "screen_uas_accept.xml", "1")
        await processes.start("baresip", "-f", str(caller.root))
        await _dial(pbx, caller)
        await asyncio.sleep(talk_until)
        heard = await _hang_up(pbx, caller)
        await processes.finish(callee, 10)
        # Accepted: nobody went to voicemail.
        await asyncio.sleep(1.0)
        assert pbx.messages("102") == []
    finally:
        with contextlib.suppress(OSError, TimeoutError):
            await baresip_ask(caller.ctrl_port, "quit")
        await processes.stop_all()

    # Screened: the PBX answered and asked for the name (its beep); then, after
    # "please hold", the ringback (440 + 480 Hz) while 102 rang...
    beeps = _windows(heard, BEEP_FREQUENCY)
    assert beeps, "the caller never heard the screening beep"
    assert UNTIL_BEEP - 0.5 <= beeps[0] <= UNTIL_BEEP + 1.5, (beeps[0], UNTIL_BEEP)
    ringback = _windows(heard, *RINGBACK)
    assert ringback, "the caller never heard the ringback"
    assert ringback[0] >= beeps[-1] + _seconds(PROMPTS.say("screening-please-hold")) - 0.2
    # ...and, 102 having accepted, was bridged to it: 102's voice.
    voice = _windows(heard, CALLEE_TONE)
    assert len(voice) >= 10 * (CALLEE_TALKS - 1.5), f"the caller heard 102 for {len(voice) / 10} s"
    assert voice[0] > ringback[-1], (voice[0], ringback)


async def test_the_screened_extension_refuses_with_2_and_the_caller_leaves_a_message(
    pbx: Pbx, tmp_path: Path
) -> None:
    assert pbx.messages("102") == []
    processes = Processes(tmp_path)
    caller = make_phone(tmp_path, "101", CALLER_TONE, free_range(10), "manual")
    caller.configure(pbx.sip_port, seconds=UNTIL_RINGING + UNTIL_VOICEMAIL + TALK_SECONDS + 20)
    try:
        callee = await _screened_phone(processes, pbx, "screen_uas_refuse.xml", "2")
        await processes.start("baresip", "-f", str(caller.root))
        await _dial(pbx, caller)
        # The PBX hangs 102 up (SIPp's scenario passes only if its BYE came in time)...
        await processes.finish(callee, UNTIL_RINGING + 10)
        # ...and the caller, sent to 102's voicemail, keeps talking after the beep.
        await asyncio.sleep(UNTIL_VOICEMAIL + TALK_SECONDS)
        await _hang_up(pbx, caller)
        listed = await asyncio.to_thread(
            pbx.wait_for, lambda: pbx.messages("102"), 10, "no message for 102"
        )
    finally:
        with contextlib.suppress(OSError, TimeoutError):
            await baresip_ask(caller.ctrl_port, "quit")
        await processes.stop_all()

    [message] = listed
    assert (message["caller"], message["caller_name"], message["folder"]) == ("101", "Bob", "new")
    assert TALK_SECONDS - 1.0 < message["duration"] < TALK_SECONDS + 1.5, message
    samples = wav_samples(pbx.message_audio("102", message["id"]))
    voice = _windows(samples, CALLER_TONE)
    assert len(voice) >= 10 * (TALK_SECONDS - 1.0), f"{len(voice) / 10} s of the caller's tone"
    assert not _windows(samples, CALLEE_TONE), "102's voice ended up in the message"
