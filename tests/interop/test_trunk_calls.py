"""Calls through SIP trunks with real peers: Kamailio the provider, SIPp the outside world.

Each test starts its own provider (tests/interop/provider_support.py), the
real call engine with the trunk to it (tests/interop/trunk_calls_support.py)
and the phones of its extensions (baresip, registered to Centralino), all on
loopback and free ports, every wait bounded. The PBX registers to the
provider first, so calls to its DIDs reach it; calls out reach the SIPp
callee the provider relays them to, which logs the Request-URI and From
it was called with. Every call leaves a record, checked through the
repository the engine's writer stored it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallResult
from tests.interop.calls_support import Processes, free_port
from tests.interop.provider_support import (
    ProviderOptions,
    called_lines,
    kamailio_available,
    outside_uac_command,
    outside_uas_command,
    provider_rig,
)
from tests.interop.trunk_calls_support import (
    ACCOUNT,
    DID,
    OUTSIDE_CALLER,
    OUTSIDE_NUMBER,
    OUTSIDE_TONE,
    PHONE_TONE,
    assert_tone,
    everybody,
    start_phone,
    trunk_pbx,
    trunk_to,
    until,
    write_tone_pcap,
)
from tests.telephony.calls_support import extension

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not kamailio_available(), reason="kamailio is not installed"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

TALK_MS = 4000


async def test_an_outside_caller_reaches_the_did_owner_and_they_talk(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    processes, sipp = Processes(tmp_path), Processes(outside)
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        owner = extension("101", dids=[DID])
        async with trunk_pbx(extensions=[owner, extension("102")], trunks=[trunk_to(rig)]) as pbx:
            await rig.wait_registered()
            try:
                phone = await start_phone(processes, tmp_path, "101", pbx)
                await until(lambda: pbx.registered("101"), 15, "101 registered")
                caller = await sipp.start(
                    *outside_uac_command(rig, DID, outside, caller=OUTSIDE_CALLER, hold_ms=TALK_MS)
                )
                await until(pbx.answered, 15, "answered")
                await asyncio.sleep(TALK_MS / 2000)
                media = pbx.telephony.media
                assert media is not None
                stats = media.stats(pbx.states[0].call_id)
                assert stats is not None
                # the provider's leg (the caller) got and sent audio through the PBX
                assert stats.caller.packets_received > 40, stats.caller
                assert stats.caller.packets_sent > 40, stats.caller
                await sipp.finish(caller, 20)
                [record] = await pbx.wait_records(1)
                await until(lambda: phone.received_recordings(), 5, "recording")
                await asyncio.sleep(0.5)  # the sndfile module closes its file
            finally:
                with contextlib.suppress(OSError):
                    await phone.command("quit")
                await processes.stop_all()
                await sipp.stop_all()
            [stored] = await pbx.stored_records()
    assert_tone(phone.received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert "ANSWERED by=" in (outside / "outside_uac.log").read_text()
    assert rig.log_lines("INBOUND")
    assert stored == record
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.caller, record.callee) == (
        "provider", DID, OUTSIDE_CALLER, "101",
    )  # fmt: skip
    assert record.answered_by == "101"


async def test_an_extension_calls_out_in_the_trunks_format_with_its_caller_id(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, None, seconds=0.02)  # SIPp echoes: the phone hears itself
    processes, sipp = Processes(tmp_path), Processes(outside)
    outside_port = free_port()
    options = ProviderOptions(outside=("127.0.0.1", outside_port))
    with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
        caller = extension("101", outbound_caller_id="+390212345")
        async with trunk_pbx(
            extensions=[caller], trunks=[trunk_to(rig)], rules=[everybody("provider")]
        ) as pbx:
            await rig.wait_registered()
            try:
                callee = await sipp.start(*outside_uas_command(outside_port, outside, echo=True))
                phone = await start_phone(processes, tmp_path, "101", pbx, answer="manual")
                await until(lambda: pbx.registered("101"), 15, "101 registered")
                await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{pbx.port}")
                await until(pbx.answered, 15, "answered")
                await asyncio.sleep(TALK_MS / 1000)
                await phone.command("hangup")
                await sipp.finish(callee, 20)
                [record] = await pbx.wait_records(1)
                await until(lambda: phone.received_recordings(), 5, "recording")
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(OSError):
                    await phone.command("quit")
                await processes.stop_all()
                await sipp.stop_all()
            [stored] = await pbx.stored_records()
    [called] = called_lines(outside)
    # Italian national format: the number and the caller ID without +39
    assert called.startswith("CALLED ruri=0698765432 from= <sip:0212345@"), called
    assert rig.log_lines("OUTBOUND")
    assert_tone(phone.received_recordings()[-1], wanted=PHONE_TONE, unwanted=OUTSIDE_TONE)
    assert stored == record
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.caller) == ("provider", "101")
    assert record.callee in ("+390698765432", "0698765432"), record.callee
