"""Inbound trunk calls routed by the extensions' rules, with real peers.

An outside caller (SIPp) dials a DID through the provider (Kamailio); the
PBX registered to it routes the call as an *external* call: a DID no
extension owns goes to the trunk's default destination, a caller-ID
exception for an outside pattern sends the call elsewhere, a forward to the
extension's mobile and ``ring_mobile`` dial the mobile out through the same
trunk, where the provider relays it to the outside world's SIPp callee
(which logs what it was called with). The extensions' phones are baresip.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.extension import Extension
from tests.interop.baresip_support import BaresipPhone
from tests.interop.provider_support import (
    ProviderRig,
    called_lines,
    kamailio_available,
    outside_uac_command,
    outside_uas_command,
)
from tests.interop.trunk_calls_support import (
    ACCOUNT,
    DID,
    OUTSIDE_CALLER,
    OUTSIDE_TONE,
    PHONE_TONE,
    UNOWNED_DID,
    TrunkPbx,
    assert_tone,
    call_out,
    everybody,
    log_lines,
    outside_command,
    outside_options,
    peers,
    provider_pbx,
    write_tone_pcap,
)
from tests.telephony.calls_support import extension

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not kamailio_available(), reason="kamailio is not installed"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

MOBILE = "+393471234567"
"""Extension 101's mobile (``3471234567`` in the trunk's national format)."""


async def outside_call(
    pbx: TrunkPbx,
    rig: ProviderRig,
    root: Path,
    did: str,
    *,
    phones: dict[str, str],
    mobile_port: int | None = None,
) -> tuple[CallRecord, dict[str, BaresipPhone], dict[str, str]]:
    """The outside caller dials ``did``; ``phones`` (number -> answer mode) are baresip.

    With ``mobile_port`` an outside callee (the mobile) answers there.
    Returns the call's record, the phones, and each phone's console output.
    """
    outside = root / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    started: dict[str, BaresipPhone] = {}
    phone_processes: dict[str, asyncio.subprocess.Process] = {}
    async with peers(root, outside) as run:
        for number, answer in phones.items():
            started[number], phone_processes[number] = await run.phone(number, pbx, answer=answer)
        mobile = None
        if mobile_port is not None:
            mobile = await run.sipp.start(*outside_uas_command(mobile_port, outside, timeout=30))
        caller = await run.sipp.start(
            *outside_uac_command(rig, did, outside, caller=OUTSIDE_CALLER, hold_ms=3000)
        )
        await run.sipp.finish(caller, 30)
        if mobile is not None:
            await run.sipp.finish(mobile, 20)
        [record] = await pbx.wait_records(1)
        if any(phone.received_recordings() for phone in started.values()):
            await asyncio.sleep(0.5)  # the sndfile module closes its file
    output: dict[str, str] = {}
    for number, process in phone_processes.items():
        assert process.stdout is not None
        output[number] = (await process.stdout.read()).decode(errors="replace")
    return record, started, output


async def _assert_102_answers(
    tmp_path: Path, extensions: list[Extension], did: str, trunk: dict[str, object] | None = None
) -> None:
    """The outside caller dials ``did``; 102's phone answers it, 101's is never called."""
    async with provider_pbx(tmp_path, extensions=extensions, trunk=trunk) as (rig, pbx):
        record, phones, _ = await outside_call(
            pbx, rig, tmp_path, did, phones={"101": "auto", "102": "auto"}
        )
        [stored] = await pbx.stored_records()
    assert not phones["101"].received_recordings()
    assert_tone(phones["102"].received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert stored == record
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.caller, record.answered_by) == (
        "provider", did, OUTSIDE_CALLER, "102",
    )  # fmt: skip


async def test_an_unknown_did_reaches_the_trunks_default_destination(tmp_path: Path) -> None:
    extensions = [extension("101", dids=[DID]), extension("102")]
    trunk: dict[str, object] = {"default_destination": {"type": "extension", "number": "102"}}
    await _assert_102_answers(tmp_path, extensions, UNOWNED_DID, trunk)


async def test_a_caller_id_exception_for_an_outside_pattern_applies(tmp_path: Path) -> None:
    owner = extension(
        "101",
        dids=[DID],
        forwarding={
            "exceptions": [
                {"caller_id": "+39335*", "destination": {"type": "extension", "number": "102"}}
            ]
        },
    )
    await _assert_102_answers(tmp_path, [owner, extension("102")], DID)  # the exception first


def _with_mobile(**forwarding: object) -> Extension:
    return extension("101", dids=[DID], mobile=MOBILE, forwarding=forwarding)


async def test_an_unregistered_extension_forwards_external_calls_to_its_mobile(
    tmp_path: Path,
) -> None:
    routes = {"not_registered": {"type": "mobile"}}
    owner = _with_mobile(profiles={"available": {"external": routes}})
    mobile_port, options = outside_options()
    async with provider_pbx(
        tmp_path, extensions=[owner], rules=[everybody("provider")], options=options
    ) as (rig, pbx):
        record, _, _ = await outside_call(
            pbx, rig, tmp_path, DID, phones={}, mobile_port=mobile_port
        )
        [stored] = await pbx.stored_records()
    [called] = called_lines(tmp_path / "outside")
    # the original caller presented (national format), not the extension
    assert called.startswith("CALLED ruri=3471234567 from= <sip:3351234567@"), called
    assert rig.log_lines("INBOUND")
    assert rig.log_lines("OUTBOUND")
    assert stored == record
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.caller) == ("provider", DID, OUTSIDE_CALLER)
    assert record.answered_by in (MOBILE, "3471234567"), record.answered_by  # see below


async def test_ring_mobile_rings_the_mobile_through_the_trunk_with_the_phone(
    tmp_path: Path,
) -> None:
    owner = _with_mobile(profiles={"available": {"ring_mobile": True}})
    mobile_port, options = outside_options()
    async with provider_pbx(
        tmp_path, extensions=[owner], rules=[everybody("provider")], options=options
    ) as (rig, pbx):
        # the phone rings and does not answer; the mobile answers and wins
        record, phones, output = await outside_call(
            pbx, rig, tmp_path, DID, phones={"101": "manual"}, mobile_port=mobile_port
        )
        [stored] = await pbx.stored_records()
    [called] = called_lines(tmp_path / "outside")
    # the original caller presented (national format), not the extension
    assert called.startswith("CALLED ruri=3471234567 from= <sip:3351234567@"), called
    assert "Incoming call" in output["101"], output["101"][-2000:]
    assert not phones["101"].received_recordings()  # cancelled: the mobile answered
    assert stored == record
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.caller) == ("provider", DID, OUTSIDE_CALLER)
    assert record.answered_by in (MOBILE, "3471234567"), record.answered_by


async def test_an_outside_caller_leaves_a_message_when_the_did_owner_is_offline(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE, seconds=12)
    # not registered: the external not-registered route, voicemail by default
    async with provider_pbx(tmp_path, extensions=[extension("101", dids=[DID])]) as (rig, pbx):
        async with peers(outside) as run:
            caller = await run.sipp.start(
                *outside_uac_command(rig, DID, outside, caller=OUTSIDE_CALLER, hold_ms=9000)
            )
            await run.sipp.finish(caller, 30)
            [record] = await pbx.wait_records(1)
        [message] = await pbx.mailboxes.messages("101")
    assert message.caller == OUTSIDE_CALLER
    assert message.duration > 1, message
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.VOICEMAIL, record
    assert (record.trunk, record.did, record.caller) == ("provider", DID, OUTSIDE_CALLER)


async def _forward_an_internal_call_out(tmp_path: Path) -> tuple[str, CallRecord]:
    """102 calls 101, who is offline and forwards internal calls to an outside number."""
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE, seconds=3)
    outside_port, options = outside_options()
    routes = {"not_registered": {"type": "number", "number": "+390611112222"}}
    forwarding = extension(
        "101", outbound_caller_id=DID, forwarding={"profiles": {"available": {"internal": routes}}}
    )
    async with (
        provider_pbx(
            tmp_path, extensions=[forwarding, extension("102")], rules=[everybody("provider")],
            options=options,
        ) as (_, pbx),
        peers(outside) as run,
    ):  # fmt: skip
        record = await call_out(run, pbx, outside, outside_port, caller="102", number="101")
    [called] = called_lines(outside)
    return called, record


async def test_an_internal_call_forwarded_to_an_outside_number_goes_out(tmp_path: Path) -> None:
    called, record = await _forward_an_internal_call_out(tmp_path)
    # an extension number is no caller ID outside: the forwarding extension's own
    assert called.startswith("CALLED ruri=0611112222 from= <sip:0212345@"), called
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.caller, record.trunk) == ("102", "provider")


async def test_a_call_forwarded_out_is_recorded_with_the_number_dialled(tmp_path: Path) -> None:
    _, record = await _forward_an_internal_call_out(tmp_path)
    assert record.callee == "101", record.callee


async def test_an_unknown_did_without_a_default_destination_is_refused_and_recorded(
    tmp_path: Path,
) -> None:
    work = tmp_path / "sipp"
    work.mkdir()
    async with (
        provider_pbx(tmp_path, extensions=[extension("101", dids=[DID])]) as (rig, pbx),
        peers(work) as run,
    ):
        command = outside_command(
            "trunk_outside_uac_unknown.xml", work, name="caller", remote=rig.address,
            service=UNOWNED_DID, variables={"caller": OUTSIDE_CALLER},
        )  # fmt: skip
        await run.sipp.finish(await run.sipp.start(*command), 20)
        assert log_lines(work, "caller", "REFUSED Unknown number")
        [record] = await pbx.wait_records(1, within=3)
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.REJECTED
    assert (record.trunk, record.did, record.caller) == ("provider", UNOWNED_DID, OUTSIDE_CALLER)


async def test_a_carriers_delayed_offer_reaches_the_did_owner_with_audio(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    async with (
        provider_pbx(tmp_path, extensions=[extension("101", dids=[DID])]) as (rig, pbx),
        peers(tmp_path, outside) as run,
    ):
        phone, _ = await run.phone("101", pbx)
        command = outside_command(
            "trunk_outside_uac_late.xml", outside, name="caller", remote=rig.address,
            service=DID, variables={"caller": OUTSIDE_CALLER, "hold": "3000"},
        )  # fmt: skip
        await run.sipp.finish(await run.sipp.start(*command), 30)
        [record] = await pbx.wait_records(1)
        await asyncio.sleep(0.5)
    assert log_lines(outside, "caller", "OFFERED m=audio")
    assert_tone(phone.received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.answered_by) == ("provider", "101")


async def test_a_did_the_provider_writes_nationally_is_read_to_e164(tmp_path: Path) -> None:
    account = dataclasses.replace(ACCOUNT, dids=("0212345",))  # the provider's own writing
    async with provider_pbx(
        tmp_path, extensions=[extension("101", dids=[DID])], account=account, trunk={"dids": [DID]}
    ) as (rig, pbx):
        record, phones, _ = await outside_call(
            pbx, rig, tmp_path, "0212345", phones={"101": "auto"}
        )
    assert_tone(phones["101"].received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert (record.did, record.answered_by) == (DID, "101")


async def test_an_outside_number_that_answered_is_recorded_in_e164(tmp_path: Path) -> None:
    _, record = await _forward_an_internal_call_out(tmp_path)
    assert record.answered_by == "+390611112222", record.answered_by


async def _default_destination_call(
    tmp_path: Path, destination: dict[str, str]
) -> tuple[TrunkPbx, CallRecord, list[str]]:
    """The outside caller dials the DID nobody owns; the trunk sends it to ``destination``.

    An outside callee answers behind the provider (for a ``number``
    destination). Returns the PBX (stopped), the call's record and the
    callee's ``CALLED`` lines.
    """
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE, seconds=12)
    outside_port, options = outside_options()
    async with (
        provider_pbx(
            tmp_path, extensions=[extension("101", dids=[DID])], rules=[everybody("provider")],
            options=options, trunk={"default_destination": destination},
        ) as (rig, pbx),
        peers(outside) as run,
    ):  # fmt: skip
        callee = None
        if destination["type"] == "number":
            callee = await run.sipp.start(*outside_uas_command(outside_port, outside))
        caller = await run.sipp.start(
            *outside_uac_command(rig, UNOWNED_DID, outside, caller=OUTSIDE_CALLER, hold_ms=8000)
        )
        await run.sipp.finish(caller, 30)
        if callee is not None:
            await run.sipp.finish(callee, 20)
        [record] = await pbx.wait_records(1)
    return pbx, record, called_lines(outside)


async def test_an_unknown_did_reaches_a_voicemail_default_destination(tmp_path: Path) -> None:
    destination = {"type": "extension_voicemail", "number": "101"}
    pbx, record, _ = await _default_destination_call(tmp_path, destination)
    [message] = await pbx.mailboxes.messages("101")
    assert message.caller == OUTSIDE_CALLER
    assert message.duration > 1, message
    assert record.caller == OUTSIDE_CALLER  # the rest: ..._is_recorded_as_inbound


async def test_an_unknown_did_reaches_a_number_default_destination(tmp_path: Path) -> None:
    destination = {"type": "number", "number": "+390611112222"}
    _, record, called = await _default_destination_call(tmp_path, destination)
    [line] = called
    assert line.startswith("CALLED ruri=0611112222 from= <sip:"), line
    assert record.result is CallResult.ANSWERED
    assert (record.caller, record.trunk) == (OUTSIDE_CALLER, "provider")


async def test_a_number_default_destination_presents_the_outside_caller(tmp_path: Path) -> None:
    destination = {"type": "number", "number": "+390611112222"}
    _, _, [line] = await _default_destination_call(tmp_path, destination)
    assert line.startswith("CALLED ruri=0611112222 from= <sip:3351234567@"), line


@pytest.mark.parametrize(
    "destination",
    [
        {"type": "extension_voicemail", "number": "101"},
        {"type": "number", "number": "+390611112222"},
    ],
    ids=["voicemail", "number"],
)
async def test_an_unknown_dids_default_destination_is_recorded_as_inbound(
    tmp_path: Path, destination: dict[str, str]
) -> None:
    _, record, _ = await _default_destination_call(tmp_path, destination)
    assert record.direction is CallDirection.INBOUND, record.direction
    assert (record.did, record.trunk) == (UNOWNED_DID, "provider"), record
