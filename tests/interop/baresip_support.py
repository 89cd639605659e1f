"""Two baresip phones for the call interop test: config, tones, control, Goertzel.

Each phone gets its own directory (config, accounts, a WAV played as its
microphone, a ``rec`` folder where the sndfile module writes what it sent
and received), its own SIP port, RTP port range and ctrl_tcp port, as
/work/shared/PEERS.md describes.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.interop.calls_support import free_port
from tests.telephony.calls_support import PASSWORD

__all__ = ["BaresipPhone", "goertzel_power", "make_phone", "read_samples", "write_tone"]

RATE = 8000


def write_tone(path: Path, frequency: float, seconds: float) -> None:
    """A 16-bit mono 8 kHz WAV of one sine tone at half scale."""
    count = int(RATE * seconds)
    frames = b"".join(
        struct.pack("<h", int(16000 * math.sin(2 * math.pi * frequency * n / RATE)))
        for n in range(count)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


def read_samples(path: Path) -> tuple[list[int], int]:
    """The first channel's 16-bit samples and the sample rate (tolerant of headers)."""
    with wave.open(str(path), "rb") as source:
        rate, channels = source.getframerate(), source.getnchannels()
        data = source.readframes(source.getnframes())
    values = struct.unpack(f"<{len(data) // 2}h", data[: len(data) // 2 * 2])
    return list(values[::channels]), rate


def goertzel_power(samples: list[int], rate: int, frequency: float) -> float:
    """The normalised power of ``frequency`` in ``samples`` (Goertzel algorithm)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous**2 + before**2 - coefficient * previous * before
    return power / max(len(samples), 1) ** 2


@dataclass
class BaresipPhone:
    """One baresip's directory, ports and account line."""

    root: Path
    number: str
    auth_id: str
    password: str
    sip_port: int
    ctrl_port: int
    rtp_base: int
    tone: float
    answer: str = "manual"

    def configure(self, pbx_port: int, seconds: float) -> None:
        """Write the config, the account and the microphone WAV."""
        (self.root / "rec").mkdir(parents=True, exist_ok=True)
        write_tone(self.root / "in.wav", self.tone, seconds)
        (self.root / "config").write_text(self._config())
        account = (
            f"<sip:{self.number}@127.0.0.1:{pbx_port};transport=udp>;auth_user={self.auth_id};"
            f"auth_pass={self.password};regint=600;answermode={self.answer};audio_codecs=PCMU\n"
        )
        (self.root / "accounts").write_text(account)

    def _config(self) -> str:
        lines = [
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"audio_source aufile,{self.root / 'in.wav'}",
            "audio_player alsa,null",
            "audio_alert alsa,null",
            "ausrc_srate 8000",
            "auplay_srate 8000",
            "ausrc_channels 1",
            "auplay_channels 1",
            f"rtp_ports {self.rtp_base}-{self.rtp_base + 9}",
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module alsa.so",
            "module sndfile.so",
            f"snd_path {self.root / 'rec'}",
            "module_tmp uuid.so",
            "module_tmp account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
        ]
        return "\n".join(lines) + "\n"

    def received_recordings(self) -> list[Path]:
        """The WAVs of audio this phone received (decoded)."""
        return sorted((self.root / "rec").glob("dump-*-dec.wav"))

    async def command(self, command: str, params: str = "") -> None:
        """Send one ctrl_tcp command (netstring JSON); no need to read the answer."""
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.ctrl_port), 5
        )
        try:
            writer.write(str(len(body)).encode() + b":" + body + b",")
            await writer.drain()
            await asyncio.wait_for(reader.read(4096), 5)
        finally:
            writer.close()


def make_phone(root: Path, number: str, tone: float, rtp_base: int, answer: str) -> BaresipPhone:
    """Phone ``number`` (``user<number>`` / PASSWORD) under ``root``, on free ports."""
    sip_port = free_port()
    while free_port() == sip_port + 1:  # baresip also binds TLS on PORT+1
        sip_port = free_port()
    return BaresipPhone(
        root=root / number,
        number=number,
        auth_id=f"user{number}",
        password=PASSWORD,
        sip_port=sip_port,
        ctrl_port=free_port(),
        rtp_base=rtp_base,
        tone=tone,
        answer=answer,
    )


async def until(condition: Callable[[], object], within: float, what: str) -> None:
    """Wait until ``condition()`` is true (TimeoutError naming ``what`` after ``within`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)
