"""The provider rig itself, with SIPp standing in for the PBX.

Every later trunk test relies on the rig's relaying: calls to a DID reach
the registered contact with the DID kept, calls from the PBX reach the
outside world with the number and caller ID kept (after a 407 when asked),
and a refusing provider answers every INVITE from the PBX with its status.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest

from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import Response, make_request, parse_message
from centralino.sip.uri import Uri
from tests.interop.calls_support import SCENARIOS, free_port, run_once
from tests.interop.provider_support import (
    ProviderAccount,
    ProviderOptions,
    called_lines,
    kamailio_available,
    outside_uac_command,
    outside_uas_command,
    provider_rig,
    write_outside_audio,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not kamailio_available(), reason="kamailio is not installed"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]

ACCOUNT = ProviderAccount(
    username="39021234", password="trunk-secret", auth_user="acct-1", dids=("+390212345",)
)


def sipp(*arguments: str) -> list[str]:
    return ["sipp", *arguments, "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "20s"]


async def test_a_did_call_reaches_the_registered_contact_with_the_did(tmp_path: Path) -> None:
    write_outside_audio(tmp_path)
    pbx_port = free_port()
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        register = sipp(
            f"127.0.0.1:{rig.port}", "-sf", str(SCENARIOS / "reg_auth.xml"), "-p", str(pbx_port),
            "-s", ACCOUNT.username, "-au", "acct-1", "-ap", ACCOUNT.password,
            "-set", "expires", "120", "-timeout_error",
        )  # fmt: skip
        code, output = await run_once(register, tmp_path)
        assert code == 0, output
        binding = await rig.wait_registered()
        assert binding.contact.endswith(f"@127.0.0.1:{pbx_port}")
        pbx = await asyncio.create_subprocess_exec(
            *sipp("-sf", str(SCENARIOS / "call_uas_answer.xml"), "-p", str(pbx_port)),
            "-trace_msg", "-message_file", str(tmp_path / "pbx.msg"),
            cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await asyncio.sleep(0.3)
            caller = outside_uac_command(rig, "+390212345", tmp_path, hold_ms=500, timeout=20)
            code, output = await run_once(caller, tmp_path)
            assert code == 0, output
            assert await asyncio.wait_for(pbx.wait(), 20) == 0
        finally:
            if pbx.returncode is None:
                pbx.kill()
                await pbx.wait()
        received = (tmp_path / "pbx.msg").read_text()
        assert f"INVITE sip:+390212345@127.0.0.1:{pbx_port} SIP/2.0" in received
        assert "From: <sip:+393351234567@outside.test>" in received
        assert "To: <sip:+390212345@" in received
        assert "ANSWERED by=" in (tmp_path / "outside_uac.log").read_text()


async def test_a_pbx_call_is_challenged_then_reaches_the_outside_world(tmp_path: Path) -> None:
    write_outside_audio(tmp_path)
    pbx_port, outside_port = free_port(), free_port()
    options = ProviderOptions(
        challenge_invites=True,
        trust_pbx_address=("127.0.0.1", pbx_port),
        outside=("127.0.0.1", outside_port),
    )
    with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
        outside = await asyncio.create_subprocess_exec(
            *outside_uas_command(outside_port, tmp_path, timeout=20),
            cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await asyncio.sleep(0.3)
            call = sipp(
                f"127.0.0.1:{rig.port}", "-sf", str(SCENARIOS / "call_uac_bye.xml"),
                "-p", str(pbx_port), "-s", "00393351112222", "-set", "caller", "+39021234",
                "-au", "acct-1", "-ap", ACCOUNT.password,
            )  # fmt: skip
            code, output = await run_once(call, tmp_path)
            assert code == 0, output
            assert await asyncio.wait_for(outside.wait(), 20) == 0
        finally:
            if outside.returncode is None:
                outside.kill()
                await outside.wait()
        assert rig.log_lines("CHALLENGE INVITE")
        [called] = called_lines(tmp_path)
        assert called.startswith("CALLED ruri=00393351112222 from= <sip:+39021234@")


async def test_a_refusing_provider_answers_the_pbx_with_its_status(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as pbx:
        pbx.bind(("127.0.0.1", 0))
        pbx.setblocking(False)
        port = pbx.getsockname()[1]
        options = ProviderOptions(reject_invites=503, trust_pbx_address=("127.0.0.1", port))
        with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
            caller = NameAddress(uri=Uri(user="+39021234", host="127.0.0.1")).with_tag("t1")
            invite = make_request(
                "INVITE",
                Uri(user="0039021111", host="127.0.0.1", port=rig.port),
                via=Via.parse(f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKrig503;rport"),
                from_address=caller,
                to_address=NameAddress(uri=Uri(user="0039021111", host="127.0.0.1")),
                call_id="rig-503@test",
                cseq=1,
                extra_headers=[("Contact", f"<sip:pbx@127.0.0.1:{port}>")],
            )
            await loop.sock_sendto(pbx, bytes(invite), rig.address)
            answer = parse_message(await asyncio.wait_for(loop.sock_recv(pbx, 65535), 5))
            assert isinstance(answer, Response)
            assert answer.status == 503
            assert rig.log_lines("REJECTED")
