"""System settings that change what the PBX says on the wire, end to end.

A real ``centralino serve`` (``voicemail_support.running_pbx``), its REST
API, and a scripted UDP phone (``tests.telephony.calls_support.SipPhone``):

* ``PATCH /api/v1/settings`` ``{"sip": {"digest_algorithms": ["SHA-256",
  "MD5"]}}``: the next REGISTER is challenged with two ``WWW-Authenticate``
  headers, SHA-256 then MD5 (RFC 8760 §2.3), and a SHA-256 answer registers;
  back to ``["MD5"]``: one MD5 challenge again. No restart in between.
* ``network.public_host`` with 127.0.0.1 left out of ``network.local_networks``:
  the phone is "outside", so the PBX's 200 to its call (``*97``, answered by
  the PBX itself) names the public host in Contact and in the SDP; with the
  default local networks the same call gets the configured SIP host.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from centralino.sip.digest import DigestAlgorithm, DigestChallenge
from centralino.sip.message import Response
from centralino.sip.sdp import SessionDescription
from tests.interop.voicemail_support import Pbx, running_pbx
from tests.telephony.calls_support import SipPhone, contact_uri

pytestmark = [pytest.mark.interop]

PUBLIC = "203.0.113.10"
CHANGE_SECONDS = 5.0
"""How long a settings change may take to reach the engine (the change feed)."""


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    root: Path = tmp_path_factory.mktemp("settings")
    with running_pbx(root, rtp_ports=20) as running:
        running.create_extension("101")
        yield running


def _patch(pbx: Pbx, document: dict[str, Any]) -> dict[str, Any]:
    patched = pbx.api.patch(
        "/api/v1/settings",
        json=document,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    result: dict[str, Any] = patched.json()
    return result


async def _challenges(phone: SipPhone) -> list[DigestChallenge]:
    """Send a REGISTER without credentials; the challenges of the 401, in order."""
    uri = f"sip:127.0.0.1:{phone.server_port}"
    to = f"<sip:{phone.number}@127.0.0.1>"
    call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    phone.send(phone.new_request("REGISTER", uri, to=to, call_id=call_id, tag=tag))
    response = await phone.final("REGISTER")
    assert response.status == 401
    return [DigestChallenge.parse(v) for v in response.headers.get_all("www-authenticate")]


async def _challenged_with(phone: SipPhone, expected: list[DigestAlgorithm]) -> None:
    """Wait (bounded) until a REGISTER is challenged with ``expected``, in order."""
    deadline = asyncio.get_running_loop().time() + CHANGE_SECONDS
    while True:
        offered = [challenge.algorithm for challenge in await _challenges(phone)]
        if offered == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still offered {offered}"
        await asyncio.sleep(0.1)


async def test_patched_digest_algorithms_challenge_the_next_register(pbx: Pbx) -> None:
    phone = SipPhone(pbx.sip_port, "101")
    try:
        await _challenged_with(phone, [DigestAlgorithm.MD5])  # the default
        body = _patch(pbx, {"sip": {"digest_algorithms": ["SHA-256", "MD5"]}})
        assert body["sip"] == {"digest_algorithms": ["SHA-256", "MD5"]}
        await _challenged_with(phone, [DigestAlgorithm.SHA256, DigestAlgorithm.MD5])
        [sha, md5] = await _challenges(phone)
        assert sha.nonce == md5.nonce
        assert (await phone.register()).status == 200  # answers the SHA-256 one
        _patch(pbx, {"sip": {"digest_algorithms": ["MD5"]}})
        await _challenged_with(phone, [DigestAlgorithm.MD5])
        assert (await phone.register()).status == 200
    finally:
        phone.close()


def test_bad_digest_algorithms_are_refused_naming_the_field(pbx: Pbx) -> None:
    for bad in ([], ["MD5", "MD5"], ["SHA-512"]):
        patched = pbx.api.patch(
            "/api/v1/settings",
            json={"sip": {"digest_algorithms": bad}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 422, patched.text
        [error] = patched.json()["detail"]
        assert error["path"].startswith("sip.digest_algorithms")


async def _pbx_answer(phone: SipPhone) -> Response:
    """Call ``*97`` (the PBX answers itself), hang up; the PBX's 200."""
    dialed = await phone.dial("*97")
    answer = await phone.response(200)
    phone.send(phone.ack_for(dialed.invite, answer))
    phone.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),
        remote=answer.headers.to_address(),
        call_id=dialed.invite.headers.call_id(),
        target=contact_uri(answer),
    )
    await phone.response(200, "BYE")
    return answer


def _hosts(answer: Response) -> tuple[str, str]:
    description = SessionDescription.parse(answer.body)
    assert description.connection is not None
    return contact_uri(answer).host, description.connection.address


async def _answered_with(phone: SipPhone, expected: tuple[str, str]) -> None:
    deadline = asyncio.get_running_loop().time() + CHANGE_SECONDS
    while (hosts := _hosts(await _pbx_answer(phone))) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still answered with {hosts}"
        await asyncio.sleep(0.1)


async def test_the_public_host_is_given_to_peers_outside_the_local_networks(pbx: Pbx) -> None:
    phone = SipPhone(pbx.sip_port, "101")
    try:
        assert (await phone.register()).status == 200
        _patch(pbx, {"network": {"public_host": PUBLIC}})
        await _answered_with(phone, ("127.0.0.1", "127.0.0.1"))  # 127.0.0.1 is local
        _patch(pbx, {"network": {"local_networks": ["10.0.0.0/8"]}})
        await _answered_with(phone, (PUBLIC, PUBLIC))
        _patch(pbx, {"network": {"local_networks": None, "public_host": None}})
        await _answered_with(phone, ("127.0.0.1", "127.0.0.1"))
    finally:
        phone.close()
