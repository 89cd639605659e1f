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
import shutil
import socket
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.trunks import Trunk
from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import Response, make_request, parse_message
from centralino.sip.uri import Uri
from tests.interop.baresip_support import BaresipPhone
from tests.interop.calls_support import SCENARIOS, free_port
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
    TrunkPbx,
    assert_tone,
    call_out,
    everybody,
    free_rtp_range,
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

TALK_MS = 4000


async def test_an_outside_caller_reaches_the_did_owner_and_they_talk(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    extensions = [extension("101", dids=[DID]), extension("102")]
    async with provider_pbx(tmp_path, extensions=extensions) as (rig, pbx):
        async with peers(tmp_path, outside) as run:
            phone, _ = await run.phone("101", pbx)
            caller = await run.sipp.start(
                *outside_uac_command(rig, DID, outside, caller=OUTSIDE_CALLER, hold_ms=TALK_MS)
            )
            await until(pbx.answered, 15, "answered")
            await asyncio.sleep(TALK_MS / 2000)
            media = pbx.telephony.media
            assert media is not None
            stats = media.stats(pbx.states[0].call_id)
            assert stats is not None
            assert pbx.trunk_calls("provider") == 1
            # the provider's leg (the caller) got and sent audio through the PBX
            assert stats.caller.packets_received > 40, stats.caller
            assert stats.caller.packets_sent > 40, stats.caller
            await run.sipp.finish(caller, 20)
            [record] = await _record_and_recording(pbx, phone)
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
    outside_port, options = outside_options()
    caller = extension("101", outbound_caller_id="+390212345")
    async with provider_pbx(
        tmp_path, extensions=[caller], rules=[everybody("provider")], options=options
    ) as (rig, pbx):
        async with peers(tmp_path, outside) as run:
            callee = await run.sipp.start(*outside_uas_command(outside_port, outside, echo=True))
            phone, _ = await run.phone("101", pbx, answer="manual")
            await phone.command("dial", f"sip:{OUTSIDE_NUMBER}@127.0.0.1:{pbx.port}")
            await until(pbx.answered, 15, "answered")
            await asyncio.sleep(TALK_MS / 1000)
            await phone.command("hangup")
            await run.sipp.finish(callee, 20)
            [record] = await _record_and_recording(pbx, phone)
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


async def _record_and_recording(pbx: TrunkPbx, phone: BaresipPhone) -> list[CallRecord]:
    """The call's record once published, and once ``phone``'s recording of it is closed."""
    records = await pbx.wait_records(1)
    await until(lambda: phone.received_recordings(), 5, "recording")
    await asyncio.sleep(0.5)  # the sndfile module closes its file
    return records


async def test_a_trunk_refusing_with_503_fails_over_to_the_next(tmp_path: Path) -> None:
    out = tmp_path / "outside"
    write_tone_pcap(out, OUTSIDE_TONE, seconds=2)
    outside_port, carrying = outside_options()
    refusing = ProviderOptions(reject_invites=503)
    with (
        provider_rig(tmp_path / "first", ACCOUNT, refusing) as first,
        provider_rig(tmp_path / "second", ACCOUNT, carrying) as second,
    ):
        # the second by its host name: resolved by the engine, named in the Request-URI
        trunks = [trunk_to(first, "first"), trunk_to(second, "second", host="localhost")]
        async with trunk_pbx(
            extensions=[extension("101", outbound_caller_id=DID)],
            trunks=trunks,
            rules=[everybody("first", "second")],
        ) as pbx:
            await first.wait_registered()
            await second.wait_registered()
            async with peers(out) as run:
                record = await call_out(run, pbx, out, outside_port)
            [stored] = await pbx.stored_records()
    assert first.log_lines("REJECTED")  # the first trunk was tried, and refused
    assert not first.log_lines("OUTBOUND")
    assert second.log_lines("OUTBOUND")
    assert "IN INVITE sip:0698765432@localhost:" in second.log_lines("IN INVITE")[0]
    [called] = called_lines(out)
    assert called.startswith("CALLED ruri=0698765432 from= <sip:0212345@"), called
    assert stored == record
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.ANSWERED
    assert record.trunk == "second"
    assert "503" in record.routing_summary, record.routing_summary


async def test_an_ip_authenticated_trunk_reaches_the_did_owner(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    carrier_port = free_port()
    trunk = Trunk(
        name="carrier",
        host="127.0.0.1",
        port=carrier_port,  # no registration: its calls are known by host and port
        dids=[DID],
        country_code="39",  # the carrier writes callers as dialled from Italy
        national_prefix="",
    )
    async with trunk_pbx(extensions=[extension("101", dids=[DID])], trunks=[trunk]) as pbx:
        async with peers(tmp_path, outside) as run:
            phone, process = await run.phone("101", pbx)
            command = [
                "sipp", f"127.0.0.1:{pbx.port}", "-sf", str(SCENARIOS / "provider_outside_uac.xml"),
                "-i", "127.0.0.1", "-p", str(carrier_port), "-s", DID, "-m", "1",
                "-set", "caller", "00441234567890", "-set", "hold", "3000",
                "-mi", "127.0.0.1", "-mp", str(free_rtp_range(4)),
                "-timeout", "30s", "-timeout_error", "-nostdin",
                "-trace_msg", "-message_file", str(outside / "carrier.msg"),
            ]  # fmt: skip
            await run.sipp.finish(await run.sipp.start(*command), 40)
            [record] = await _record_and_recording(pbx, phone)
        [stored] = await pbx.stored_records()
        assert process.stdout is not None
        console = (await process.stdout.read()).decode(errors="replace")
    wire = (outside / "carrier.msg").read_text()
    # the caller read to E.164, for the phone's display and callback
    assert "Call established: sip:+441234567890@" in console, console[-2000:]
    assert "SIP/2.0 407" not in wire  # trusted by its address, never challenged
    assert_tone(phone.received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert stored == record
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.trunk, record.did, record.caller, record.answered_by) == (
        "carrier", DID, "+441234567890", "101",
    )  # fmt: skip


async def test_the_providers_challenge_to_an_invite_is_answered_with_the_account(
    tmp_path: Path,
) -> None:
    out = tmp_path / "outside"
    write_tone_pcap(out, OUTSIDE_TONE, seconds=2)
    outside_port, options = outside_options(challenge_invites=True)
    async with (
        provider_pbx(
            tmp_path, extensions=[extension("101")], rules=[everybody("provider")], options=options
        ) as (rig, pbx),
        peers(out) as run,
    ):
        record = await call_out(run, pbx, out, outside_port)
    assert len(rig.log_lines("CHALLENGE INVITE")) == 1  # answered once, and accepted
    assert rig.log_lines("OUTBOUND")
    [called] = called_lines(out)
    # no outbound caller ID on the extension nor the rule: the trunk's
    assert called.startswith("CALLED ruri=0698765432 from= <sip:02999000@"), called
    assert record.result is CallResult.ANSWERED
    assert record.trunk == "provider"


async def test_calls_both_ways_over_a_tcp_trunk(tmp_path: Path) -> None:
    out = tmp_path / "outside"
    write_tone_pcap(out, OUTSIDE_TONE, seconds=3)
    outside_port, options = outside_options(tcp=True)
    async with (
        provider_pbx(
            tmp_path, extensions=[extension("101", dids=[DID])], options=options,
            rules=[everybody("provider", caller_id="+390277777")], trunk={"transport": "tcp"},
        ) as (rig, pbx),
        peers(tmp_path, out) as run,
    ):  # fmt: skip
        await call_out(run, pbx, out, outside_port)
        # and in: the DID's owner answers on baresip (registered over UDP)
        await run.phone("101", pbx)
        caller = await run.sipp.start(
            *outside_uac_command(rig, DID, out, caller=OUTSIDE_CALLER, hold_ms=2000)
        )
        await run.sipp.finish(caller, 30)
        await pbx.wait_records(2)
    outbound, inbound = pbx.records
    assert "(tcp)" in rig.log_lines("IN INVITE")[0]
    [called] = called_lines(out)
    # the extension has no outbound caller ID: the rule's, before the trunk's
    assert called.startswith("CALLED ruri=0698765432 from= <sip:0277777@"), called
    assert [line for line in rig.log_lines("INBOUND") if "transport=tcp" in line]
    assert outbound.direction is CallDirection.OUTBOUND
    assert outbound.result is CallResult.ANSWERED
    assert outbound.trunk == "provider"
    assert inbound.direction is CallDirection.INBOUND
    assert inbound.result is CallResult.ANSWERED
    assert (inbound.trunk, inbound.answered_by) == ("provider", "101")


async def test_a_trunks_allowed_network_and_a_did_in_to(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tone_pcap(outside, OUTSIDE_TONE)
    trunk = Trunk(
        name="carrier",
        host="127.0.0.1",
        port=free_port(),
        allowed_addresses=["127.0.0.2/32"],  # its calls come from another host
        did_source="to",  # the Request-URI names the account
        dids=[DID],
    )
    async with (
        trunk_pbx(extensions=[extension("101", dids=[DID])], trunks=[trunk]) as pbx,
        peers(tmp_path, outside) as run,
    ):
        phone, _ = await run.phone("101", pbx)
        command = outside_command(
            "trunk_outside_uac_to.xml", outside, name="carrier", host="127.0.0.2",
            remote=("127.0.0.1", pbx.port), service=DID,
            variables={"caller": OUTSIDE_CALLER, "hold": "2000", "account": "39021234"},
        )  # fmt: skip
        await run.sipp.finish(await run.sipp.start(*command), 30)
        [record] = await pbx.wait_records(1)
        await asyncio.sleep(0.5)
        # the same INVITE from outside the allowed network is a stranger's
        stranger = await _invite_from("127.0.0.3", pbx.port)
    assert "SIP/2.0 407" not in (outside / "carrier.msg").read_text()
    assert "INVITE sip:39021234@127.0.0.1:" in (outside / "carrier.msg").read_text()
    assert_tone(phone.received_recordings()[-1], wanted=OUTSIDE_TONE, unwanted=PHONE_TONE)
    assert (record.trunk, record.did, record.answered_by) == ("carrier", DID, "101")
    assert stranger == 407


async def _invite_from(host: str, pbx_port: int) -> int:
    """The status the PBX answers an INVITE for the DID from ``host`` with."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.setblocking(False)
        port = sock.getsockname()[1]
        invite = make_request(
            "INVITE",
            Uri(user="39021234", host="127.0.0.1", port=pbx_port),
            via=Via.parse(f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKstranger;rport"),
            from_address=NameAddress(uri=Uri(user=OUTSIDE_CALLER, host=host)).with_tag("s1"),
            to_address=NameAddress(uri=Uri(user=DID, host="127.0.0.1")),
            call_id="stranger@test",
            cseq=1,
            extra_headers=[("Contact", f"<sip:stranger@{host}:{port}>")],
        )
        await loop.sock_sendto(sock, bytes(invite), ("127.0.0.1", pbx_port))
        while True:
            answer = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), 5))
            if isinstance(answer, Response) and answer.status >= 200:
                return answer.status
