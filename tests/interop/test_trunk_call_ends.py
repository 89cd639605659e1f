"""How trunk calls end, with real peers: either side hangs up, busy, a cancelled fork.

The provider is Kamailio (record-routing every call), the outside world SIPp,
the extensions baresip or SIPp with digest. In-dialog requests cross the
provider in both directions here: the outside callee's BYE reaches the PBX
by the route set, the PBX's BYE reaches the outside caller the same way. A
486 from the outside number speaks for the number, not the trunk: the next
trunk is not tried. With ``ring_mobile``, the phone answering first cancels
the mobile's leg at the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.calls import CallState
from tests.interop.baresip_support import BaresipPhone
from tests.interop.calls_support import free_port
from tests.interop.provider_support import (
    ProviderOptions,
    ProviderRig,
    kamailio_available,
    outside_uac_command,
    provider_rig,
)
from tests.interop.trunk_calls_support import (
    ACCOUNT,
    DID,
    OUTSIDE_CALLER,
    OUTSIDE_NUMBER,
    OUTSIDE_TONE,
    PHONE_TONE,
    Peers,
    TrunkPbx,
    assert_tone,
    everybody,
    extension_call,
    log_lines,
    outside_command,
    outside_options,
    peers,
    provider_pbx,
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


@dataclass
class _Out:
    """What a test of a call out to SIPp's outside callee works with."""

    rig: ProviderRig
    pbx: TrunkPbx
    run: Peers
    callee: asyncio.subprocess.Process
    """SIPp's outside callee (``callee.log`` in ``tmp_path/sipp``), started."""
    port: int
    """Where it listens (the provider relays calls out there)."""


@contextlib.asynccontextmanager
async def _calling_out(tmp_path: Path, scenario: str, **variables: str) -> AsyncIterator[_Out]:
    """Extension 101 may call out through the provider to SIPp running ``scenario``."""
    work = tmp_path / "sipp"
    outside_port, options = outside_options()
    async with (
        provider_pbx(
            tmp_path, extensions=[extension("101")], rules=[everybody("provider")], options=options
        ) as (rig, pbx),
        peers(tmp_path, work) as run,
    ):
        command = outside_command(
            scenario, work, name="callee", port=outside_port, variables=variables
        )
        yield _Out(rig, pbx, run, await run.sipp.start(*command), outside_port)


async def test_the_outside_callee_hangs_up_an_outbound_call(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE, seconds=3)
    async with _calling_out(tmp_path, "trunk_outside_uas_hangup.xml", hold="2000") as out:
        # the extension waits for the PBX's BYE (vm_uac_pcap.xml)
        command = extension_call(
            out.pbx, work, "vm_uac_pcap.xml", caller="101", number=OUTSIDE_NUMBER
        )
        await out.run.sipp.finish(await out.run.sipp.start(*command), 30)
        await out.run.sipp.finish(out.callee, 20)
        [record] = await out.pbx.wait_records(1)
    assert log_lines(work, "callee", "HUNG UP")
    assert [line for line in out.rig.log_lines("IN BYE") if f":{out.port} " in line]
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.ANSWERED
    assert record.trunk == "provider"
    assert record.reason == "callee_hung_up", record.reason


async def test_the_extension_hangs_up_an_inbound_call(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE)
    async with (
        provider_pbx(tmp_path, extensions=[extension("101", dids=[DID])]) as (rig, pbx),
        peers(tmp_path, work) as run,
    ):
        phone, _ = await run.phone("101", pbx)
        caller = await run.sipp.start(
            *outside_command(
                "trunk_outside_uac_wait.xml", work, name="caller", remote=rig.address,
                service=DID, variables={"caller": OUTSIDE_CALLER},
            )
        )  # fmt: skip
        await until(pbx.answered, 15, "answered")
        await asyncio.sleep(2)
        await phone.command("hangup")
        await run.sipp.finish(caller, 20)
        [record] = await pbx.wait_records(1)
    assert log_lines(work, "caller", "BYE RECEIVED")
    assert rig.log_lines("IN BYE")  # through the provider, by its Record-Route
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.answered_by) == ("provider", DID, "101")
    assert record.reason == "callee_hung_up", record.reason


async def test_a_busy_outside_number_is_not_tried_on_the_next_trunk(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    work.mkdir()
    busy_port, spare_port = free_port(), free_port()
    with (
        provider_rig(
            tmp_path / "first", ACCOUNT, ProviderOptions(outside=("127.0.0.1", busy_port))
        ) as first,
        provider_rig(
            tmp_path / "second", ACCOUNT, ProviderOptions(outside=("127.0.0.1", spare_port))
        ) as second,
    ):
        async with trunk_pbx(
            extensions=[extension("101")],
            trunks=[trunk_to(first, "first"), trunk_to(second, "second")],
            rules=[everybody("first", "second")],
        ) as pbx:
            await first.wait_registered()
            await second.wait_registered()
            async with peers(tmp_path, work) as run:
                busy = await run.sipp.start(
                    *outside_command(
                        "trunk_outside_uas_busy.xml", work, name="busy", port=busy_port
                    )
                )
                phone, _ = await run.phone("101", pbx, answer="manual")
                await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{pbx.port}")
                await run.sipp.finish(busy, 20)
                [record] = await pbx.wait_records(1)
    assert log_lines(work, "busy", "CALLED ruri=0698765432")
    assert first.log_lines("OUTBOUND")
    assert not second.log_lines("OUTBOUND")  # 486 is the number's answer, not the trunk's
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.BUSY, record
    assert record.trunk == "first", record


async def test_ring_mobile_the_phone_answers_first_and_the_mobile_is_cancelled(
    tmp_path: Path,
) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE)
    mobile_port, options = outside_options()
    owner = extension(
        "101",
        dids=[DID],
        mobile="+393471234567",
        forwarding={"profiles": {"available": {"ring_mobile": True}}},
    )
    async with (
        provider_pbx(
            tmp_path, extensions=[owner], rules=[everybody("provider")], options=options
        ) as (rig, pbx),
        peers(tmp_path, work) as run,
    ):
        mobile = await run.sipp.start(
            *outside_command(
                "trunk_outside_uas_cancelled.xml", work, name="mobile", port=mobile_port
            )
        )
        phone, _ = await run.phone("101", pbx, answer="manual")
        caller = await run.sipp.start(
            *outside_uac_command(rig, DID, work, caller=OUTSIDE_CALLER, hold_ms=2000)
        )
        await until(lambda: log_lines(work, "mobile", "CALLED"), 10, "mobile rung")
        await phone.command("accept")
        await run.sipp.finish(mobile, 20)
        await run.sipp.finish(caller, 20)
        [record] = await pbx.wait_records(1)
    assert log_lines(work, "mobile", "CALLED ruri=3471234567")
    assert log_lines(work, "mobile", "CANCELLED")
    assert rig.log_lines("IN CANCEL")
    assert any(event.state is CallState.ANSWERED for event in pbx.states)
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.answered_by) == ("provider", "101")


async def test_the_outside_caller_gives_up_while_the_phone_rings(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    work.mkdir()
    async with provider_pbx(tmp_path, extensions=[extension("101", dids=[DID])]) as (rig, pbx):
        async with peers(tmp_path, work) as run:
            _, phone = await run.phone("101", pbx, answer="manual")
            caller = await run.sipp.start(
                *outside_command(
                    "trunk_outside_uac_cancel.xml", work, name="caller", remote=rig.address,
                    service=DID, variables={"caller": OUTSIDE_CALLER, "ring": "1500"},
                )
            )  # fmt: skip
            await run.sipp.finish(caller, 20)
            [record] = await pbx.wait_records(1)
        assert phone.stdout is not None
        output = (await phone.stdout.read()).decode(errors="replace")
    assert log_lines(work, "caller", "GAVE UP")
    assert rig.log_lines("IN CANCEL")
    assert "Incoming call" in output, output[-2000:]
    assert not any(event.state is CallState.ANSWERED for event in pbx.states)
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.NO_ANSWER, record
    assert (record.trunk, record.did, record.answered_by) == ("provider", DID, None)


async def test_the_outside_callees_early_media_reaches_the_phone_then_the_answer(
    tmp_path: Path,
) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE, seconds=8)  # from the 183 on, through the answer
    async with _calling_out(tmp_path, "trunk_outside_uas_early.xml", early="2500") as out:
        pbx = out.pbx
        phone = await _dial_out(out.run, pbx, work)
        await asyncio.sleep(1.5)
        assert not any(event.state is CallState.ANSWERED for event in pbx.states)
        media = pbx.telephony.media
        assert media is not None
        [ringing] = pbx.states
        early = media.stats(ringing.call_id)
        assert early is not None
        assert early.callee.packets_received > 20, early.callee  # the 183's media
        assert early.caller.packets_sent > 20, early.caller  # relayed to the phone
        await until(pbx.answered, 10, "answered")
        await asyncio.sleep(2)
        await phone.command("hangup")
        await out.run.sipp.finish(out.callee, 20)
        [record] = await pbx.wait_records(1)
        await asyncio.sleep(0.5)
    assert log_lines(work, "callee", "ANSWERED")
    assert_tone(phone.received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert record.result is CallResult.ANSWERED
    assert record.billable <= record.duration - 2, record  # the early media is not billed


async def test_the_extension_gives_up_an_outside_call_while_it_rings(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    work.mkdir()
    async with _calling_out(tmp_path, "trunk_outside_uas_cancelled.xml") as out:
        phone = await _dial_out(out.run, out.pbx, work)
        await asyncio.sleep(1)
        await phone.command("hangup")
        await out.run.sipp.finish(out.callee, 20)
        [record] = await out.pbx.wait_records(1)
    assert log_lines(work, "callee", "CANCELLED")
    assert out.rig.log_lines("IN CANCEL")
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.NO_ANSWER, record
    assert (record.caller, record.trunk, record.answered_by) == ("101", "provider", None)


async def _dial_out(run: Peers, pbx: TrunkPbx, work: Path) -> BaresipPhone:
    """101's phone dials the outside number; returns once SIPp's callee logs the call."""
    phone, _ = await run.phone("101", pbx, answer="manual")
    await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{pbx.port}")
    await until(lambda: log_lines(work, "callee", "CALLED"), 10, "called")
    return phone


async def _dial_out_with_the_trunk_down(tmp_path: Path) -> tuple[str, list[CallRecord], bool]:
    """101 dials out while its only trunk is down (the provider refuses its password).

    Returns the phone's console, the call records published, and whether
    the provider saw an INVITE.
    """
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        wrong = trunk_to(rig)
        registration = wrong.registration.model_copy(update={"password": "not-the-password"})
        async with trunk_pbx(
            extensions=[extension("101")],
            trunks=[wrong.model_copy(update={"registration": registration})],
            rules=[everybody("provider")],
        ) as pbx:
            trunks = pbx.telephony.trunks
            assert trunks is not None
            await until(lambda: len(rig.log_lines("CHALLENGE REGISTER")) >= 2, 10, "refused")
            await until(lambda: not trunks.is_up("provider"), 5, "still up")
            async with peers(tmp_path) as run:
                phone, process = await run.phone("101", pbx, answer="manual")
                await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{pbx.port}")
                with contextlib.suppress(TimeoutError):
                    await pbx.wait_records(1, within=3)
            assert process.stdout is not None
            console = (await process.stdout.read()).decode(errors="replace")
    return console, list(pbx.records), bool(rig.log_lines("IN INVITE"))


async def test_a_trunk_whose_registration_fails_is_not_used(tmp_path: Path) -> None:
    console, _, tried = await _dial_out_with_the_trunk_down(tmp_path)
    assert not tried
    assert "503 No trunk available" in console, console[-2000:]


async def test_an_outside_call_refused_for_want_of_a_trunk_is_recorded(tmp_path: Path) -> None:
    _, records, _ = await _dial_out_with_the_trunk_down(tmp_path)
    [record] = records
    assert record.direction is CallDirection.OUTBOUND
    # "rejected" as CallResult says: refused by a rule, a restriction, or for want of a trunk.
    assert record.result is CallResult.REJECTED, record
    assert record.reason == "503 No trunk available", record.reason


async def test_a_full_trunk_refuses_the_next_call_both_ways(tmp_path: Path) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE, seconds=6)
    outside_port, options = outside_options()
    extensions = [extension("101", dids=[DID]), extension("102")]
    async with (
        provider_pbx(
            tmp_path, extensions=extensions, rules=[everybody("provider")], options=options,
            trunk={"max_calls": 1},
        ) as (rig, pbx),
        peers(tmp_path, work) as run,
    ):  # fmt: skip
        callee = await run.sipp.start(
            *outside_command(
                "trunk_outside_uas_hangup.xml", work, name="callee", port=outside_port,
                variables={"hold": "5000"},
            )
        )  # fmt: skip
        first = await run.sipp.start(
            *extension_call(pbx, work, "vm_uac_pcap.xml", caller="101", number=OUTSIDE_NUMBER)
        )
        await until(pbx.answered, 10, "the first call answered")
        assert pbx.trunk_calls("provider") == 1
        # out: 102 finds no trunk with room
        second = extension_call(
            pbx, work, "call_uac_bye.xml", caller="102", number="+390611112222", name="second"
        )
        second_process = await run.sipp.start(*second)
        await asyncio.wait_for(second_process.wait(), 20)
        # in: the provider's call to the DID is refused
        inbound = outside_command(
            "trunk_outside_uac_full.xml", work, name="inbound", remote=rig.address,
            service=DID, variables={"caller": OUTSIDE_CALLER},
        )  # fmt: skip
        await run.sipp.finish(await run.sipp.start(*inbound), 20)
        await run.sipp.finish(first, 30)
        await run.sipp.finish(callee, 20)
        records = await pbx.wait_records(3)
    assert "SIP/2.0 503 No trunk available" in (work / "second.msg").read_text()
    assert log_lines(work, "inbound", "REFUSED")
    assert len(rig.log_lines("OUTBOUND")) == 1  # the second call never reached the provider
    by_caller = {record.caller: record for record in records}
    assert by_caller["101"].result is CallResult.ANSWERED
    assert (by_caller["102"].direction, by_caller["102"].result) == (
        CallDirection.OUTBOUND, CallResult.REJECTED,
    )  # fmt: skip
    refused = by_caller[OUTSIDE_CALLER]
    # "rejected" as CallResult says: refused by a rule, a restriction, or for want of a trunk
    assert (refused.direction, refused.result) == (CallDirection.INBOUND, CallResult.REJECTED)
    assert (refused.trunk, refused.reason) == ("provider", "503 Trunk at its call limit")


async def test_the_outside_callee_puts_the_call_on_hold_through_the_provider(
    tmp_path: Path,
) -> None:
    work = tmp_path / "sipp"
    write_tone_pcap(work, OUTSIDE_TONE, seconds=2)
    async with _calling_out(tmp_path, "trunk_outside_uas_hold.xml", hold="1500") as out:
        phone, _ = await out.run.phone("101", out.pbx, answer="manual")
        await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{out.pbx.port}")
        await until(lambda: log_lines(work, "callee", "HELD"), 15, "held")
        await asyncio.sleep(0.5)
        await phone.command("hangup")
        await out.run.sipp.finish(out.callee, 20)
        [record] = await out.pbx.wait_records(1)
    [held] = log_lines(work, "callee", "HELD")
    assert held in ("HELD recvonly", "HELD inactive"), held  # the phone took the hold
    assert [line for line in out.rig.log_lines("IN INVITE") if f":{out.port} " in line]
    assert record.result is CallResult.ANSWERED
    assert record.reason == "caller_hung_up", record.reason
