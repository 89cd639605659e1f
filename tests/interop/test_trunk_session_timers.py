"""Session timers (RFC 4028) with a real carrier (SIPp) and a real phone (baresip).

The carrier asks for timers and refreshes once with a bare UPDATE: the PBX's
200s name it refresher with ``Require: timer``, the refresh is answered by
the PBX (the phone never sees it), and when the carrier stops refreshing the
PBX ends the call at the interval (90 s less 30) with a BYE to both sides.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from centralino.domain.call_records import CallDirection, CallResult
from centralino.domain.trunks import Trunk
from tests.interop.calls_support import SCENARIOS, Processes, free_port
from tests.interop.trunk_calls_support import DID, free_rtp_range, start_phone, trunk_pbx, until
from tests.telephony.calls_support import extension

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]


async def test_a_carrier_s_session_timer_is_honoured_and_its_silence_ends_the_call(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    processes, sipp = Processes(tmp_path), Processes(outside)
    carrier_port = free_port()
    trunk = Trunk(name="carrier", host="127.0.0.1", port=carrier_port, dids=[DID])
    async with trunk_pbx(extensions=[extension("101", dids=[DID])], trunks=[trunk]) as pbx:
        try:
            phone, process = await start_phone(processes, tmp_path, "101", pbx)
            await until(lambda: pbx.registered("101"), 15, "101 registered")
            command = [
                "sipp", f"127.0.0.1:{pbx.port}", "-sf", str(SCENARIOS / "trunk_timer_uac.xml"),
                "-i", "127.0.0.1", "-p", str(carrier_port), "-s", DID, "-m", "1",
                "-set", "caller", "+441234567890",
                "-mi", "127.0.0.1", "-mp", str(free_rtp_range(4)),
                "-timeout", "100s", "-timeout_error", "-nostdin",
                "-trace_msg", "-message_file", str(outside / "carrier.msg"),
                "-trace_logs", "-log_file", str(outside / "carrier.log"),
            ]  # fmt: skip
            await sipp.finish(await sipp.start(*command), 110)  # exit 0: every check held
            [record] = await pbx.wait_records(1)
        finally:
            with contextlib.suppress(OSError, NameError):
                await phone.command("quit")
            await processes.stop_all()
            await sipp.stop_all()
        assert process.stdout is not None
        console = (await process.stdout.read()).decode(errors="replace")
    log = (outside / "carrier.log").read_text()
    assert "TIMER 200 se=90;refresher=uac require=timer" in log
    assert "TIMER REFRESHED se=90;refresher=uac" in log
    assert "TIMER BYE" in log
    assert "UPDATE" not in console  # the refresh stayed between the carrier and the PBX
    assert (record.direction, record.result, record.trunk) == (
        CallDirection.INBOUND, CallResult.ANSWERED, "carrier",
    )  # fmt: skip
    assert record.duration >= 60
