"""The outbound restrictions on real calls: refused with a spoken reason, the PIN unlock, 112.

The extensions are SIPp dialling through Centralino with digest (a real SIP
stack whose every message is traced); the provider is Kamailio and the
outside world a SIPp callee behind it (tests/interop/provider_support.py).
A refused call must get a 183 whose media the PBX then fills with the
spoken reason (counted on a UDP socket of the test, named in the caller's
SDP), then a 403 naming the reason in its phrase. The unlock code is
answered by the PBX, which takes the voicemail PIN as RFC 4733 events from
a pcap SIPp plays; the same extension's next outside call then reaches the
callee behind the provider. An emergency number passes every restriction.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallResult
from centralino.domain.events import TrunkChanged
from centralino.domain.extension import Extension
from tests.interop.calls_support import free_port
from tests.interop.pcap_support import RtpStream
from tests.interop.provider_support import (
    ProviderOptions,
    called_lines,
    kamailio_available,
    outside_uas_command,
    provider_rig,
)
from tests.interop.trunk_calls_support import (
    ACCOUNT,
    OUTSIDE_NUMBER,
    SUNDAY_NIGHT,
    Peers,
    TrunkPbx,
    call_out,
    everybody,
    extension_call,
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
]

PIN = "135790"
"""The voicemail PIN of ``tests.telephony.calls_support.extension``."""

RESTRICTED = {
    "103": ({"external_calls_disabled": True}, "External calls disabled"),
    "104": ({"block_outbound_outside_office_hours": True}, "Outside office hours"),
    "105": ({"pin_protected": True}, "PIN required: dial 777 then your PIN and #"),
}
"""Extension -> its options, and the reason phrase its outside calls are refused with."""


def restricted_extensions() -> list[Extension]:
    found = [extension(number, options=options) for number, (options, _) in RESTRICTED.items()]
    every = {"external_calls_disabled": True, "pin_protected": True}
    every["block_outbound_outside_office_hours"] = True
    found.append(extension("106", options=every, outbound_caller_id="+390212345"))
    return found


@contextlib.contextmanager
def rtp_listener() -> Iterator[socket.socket]:
    """A UDP socket on loopback where a refused caller's early media is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        yield sock


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on ``sock``."""
    found: list[bytes] = []
    while True:
        try:
            found.append(sock.recv(65535))
        except BlockingIOError:
            return found


def spoken(packets: list[bytes]) -> int:
    """How many PCMU RTP packets carry sound (not silence, 0xFF/0x7F)."""
    count = 0
    for packet in packets:
        if len(packet) < 12 + 160 or packet[0] >> 6 != 2 or packet[1] & 0x7F != 0:
            continue
        payload = packet[12:]
        if sum(1 for byte in payload if byte not in (0xFF, 0x7F)) > len(payload) // 4:
            count += 1
    return count


async def _refused_call(
    run: Peers, pbx: TrunkPbx, work: Path, caller: str, name: str = "extension"
) -> int:
    """``caller`` (SIPp in ``work``) dials the outside number, expecting its refusal.

    Returns how many RTP packets of sound the PBX sent to the caller's early media.
    """
    with rtp_listener() as media:
        command = extension_call(
            pbx, work, "trunk_uac_refused.xml", caller=caller, number=OUTSIDE_NUMBER,
            name=name, extra=["-set", "rtp", str(media.getsockname()[1])],
        )  # fmt: skip
        await run.sipp.finish(await run.sipp.start(*command), 45)
        return spoken(drain(media))


async def test_each_restriction_is_refused_with_a_spoken_reason_then_403(
    tmp_path: Path,
) -> None:
    async with provider_pbx(
        tmp_path, extensions=restricted_extensions(), rules=[everybody("provider")],
        now=SUNDAY_NIGHT,
    ) as (rig, pbx):  # fmt: skip
        async with peers(tmp_path) as run:
            for number, (_, phrase) in RESTRICTED.items():
                heard = await _refused_call(run, pbx, tmp_path, number, f"refused-{number}")
                log = (tmp_path / f"refused-{number}.log").read_text()
                assert "EARLY media=m=audio " in log, log  # the 183 came with media
                wire = (tmp_path / f"refused-{number}.msg").read_text()
                assert f"SIP/2.0 403 {phrase}\n" in wire, (number, wire[-2000:])
                assert heard > 25, (number, heard)  # half a second of the spoken reason
            records = await pbx.wait_records(len(RESTRICTED))
        stored = await pbx.stored_records()
    assert not rig.log_lines("OUTBOUND")  # nothing reached the provider
    assert stored == records
    assert sorted(record.caller for record in records) == sorted(RESTRICTED)
    for record in records:  # their direction: test_a_refused_outside_call_is_outbound
        assert record.callee == OUTSIDE_NUMBER, record
        assert record.result is CallResult.REJECTED, record
        assert record.trunk is None, record
        assert RESTRICTED[record.caller][1] in record.reason, record


async def test_the_unlock_code_and_pin_by_rfc4733_allow_the_next_outside_call(
    tmp_path: Path,
) -> None:
    unlock, out = tmp_path / "unlock", tmp_path / "outside"
    keys = RtpStream()
    keys.pause(1.0)
    keys.keys(PIN + "#")
    keys.pause(0.5)
    unlock.mkdir()
    keys.write(unlock / "rtp.pcap")
    write_tone_pcap(out, 1000.0, seconds=2)
    outside_port, options = outside_options()
    async with provider_pbx(
        tmp_path, extensions=restricted_extensions(), rules=[everybody("provider")],
        options=options,
    ) as (_, pbx):  # fmt: skip
        async with peers(unlock) as unlocking, peers(out) as calls:
            callee = await calls.sipp.start(*outside_uas_command(outside_port, out))
            command = extension_call(
                pbx, unlock, "vm_uac_pcap.xml", caller="105", number="777", name="unlock"
            )
            await unlocking.sipp.finish(await unlocking.sipp.start(*command), 45)
            command = extension_call(
                pbx, out, "call_uac_bye.xml", caller="105", number=OUTSIDE_NUMBER
            )
            await calls.sipp.finish(await calls.sipp.start(*command), 30)
            await calls.sipp.finish(callee, 20)
            # numbering.outbound_unlock_minutes (10) later, the PIN is asked again
            pbx.clock.advance(minutes=11)
            await _refused_call(unlocking, pbx, unlock, "105", "relocked")
            records = await pbx.wait_records(3)
        stored = await pbx.stored_records()
    [called] = called_lines(out)
    assert called.startswith("CALLED ruri=0698765432 "), called
    relocked = (unlock / "relocked.msg").read_text()
    assert f"SIP/2.0 403 {RESTRICTED['105'][1]}\n" in relocked, relocked[-2000:]
    assert stored == records
    unlocked, outside, _ = records
    assert unlocked.caller == "105"
    assert unlocked.result is CallResult.ANSWERED, unlocked
    assert unlocked.trunk is None
    assert outside.direction is CallDirection.OUTBOUND
    assert outside.result is CallResult.ANSWERED, outside
    assert (outside.caller, outside.trunk) == ("105", "provider")


async def test_an_emergency_number_passes_every_restriction(tmp_path: Path) -> None:
    out = tmp_path / "outside"
    write_tone_pcap(out, 1000.0, seconds=2)
    outside_port, options = outside_options()
    async with provider_pbx(
        tmp_path, extensions=restricted_extensions(), rules=[everybody("provider")],
        options=options, now=SUNDAY_NIGHT,
    ) as (_, pbx):  # fmt: skip
        async with peers(out) as run:
            record = await call_out(run, pbx, out, outside_port, caller="106", number="112")
        [stored] = await pbx.stored_records()
    [called] = called_lines(out)
    # 112 as dialled; the extension's own caller ID (national format)
    assert called.startswith("CALLED ruri=112 from= <sip:0212345@"), called
    assert stored == record
    assert record.direction is CallDirection.OUTBOUND
    assert record.result is CallResult.ANSWERED
    assert (record.caller, record.callee, record.trunk) == ("106", "112", "provider")


async def test_a_refused_outside_call_is_outbound(tmp_path: Path) -> None:
    async with (
        provider_pbx(
            tmp_path, extensions=restricted_extensions(), rules=[everybody("provider")]
        ) as (_, pbx),
        peers(tmp_path) as run,
    ):
        await _refused_call(run, pbx, tmp_path, "103")
        [record] = await pbx.wait_records(1)
    assert record.result is CallResult.REJECTED
    assert record.direction is CallDirection.OUTBOUND, record.direction


async def test_an_emergency_call_is_tried_on_a_trunk_believed_down(tmp_path: Path) -> None:
    out = tmp_path / "outside"
    write_tone_pcap(out, 1000.0, seconds=2)
    outside_port = free_port()
    caller = extension("106", dids=["+390212345"], options={"external_calls_disabled": True})
    async with trunk_pbx(extensions=[caller], rules=[everybody("provider")]) as pbx:
        # the provider trusts the PBX's address; the PBX's registration is refused
        options = ProviderOptions(
            trust_pbx_address=("127.0.0.1", pbx.port), outside=("127.0.0.1", outside_port)
        )
        with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
            wrong = trunk_to(rig)
            registration = wrong.registration.model_copy(update={"password": "not-the-password"})
            trunk = wrong.model_copy(update={"registration": registration})
            pbx.store.state.trunks[trunk.name] = trunk
            pbx.telephony.events.publish(TrunkChanged(name=trunk.name, trunk=trunk))
            trunks = pbx.telephony.trunks
            assert trunks is not None
            await trunks.settled()
            await until(lambda: len(rig.log_lines("CHALLENGE REGISTER")) >= 2, 10, "refused")
            await until(lambda: not trunks.is_up("provider"), 5, "still up")
            async with peers(out) as run:
                record = await call_out(run, pbx, out, outside_port, caller="106", number="112")
    [called] = called_lines(out)
    # its own first DID as the caller ID, the number as dialled
    assert called.startswith("CALLED ruri=112 from= <sip:0212345@"), called
    assert record.result is CallResult.ANSWERED
    assert (record.caller, record.trunk) == ("106", "provider")
