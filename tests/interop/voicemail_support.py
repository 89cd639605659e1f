"""A real ``centralino serve`` for the voicemail interop tests, and its REST API.

:func:`running_pbx` starts the process as an operator would (``centralino
serve`` with ``CENTRALINO_*`` settings): a temporary data directory, free
HTTP and SIP ports, a small RTP port range found free, a given admin
password. It is stopped by its PID (SIGINT, then SIGKILL after a bound).
:class:`Pbx` wraps its REST API: extensions, SMTP settings, voicemail
messages and greetings.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "PASSWORD",
    "PIN",
    "Pbx",
    "baresip_ask",
    "free_port_pair",
    "free_range",
    "running_pbx",
    "wav_samples",
]

SCRIPT = Path(sys.executable).with_name("centralino")
ADMIN_PASSWORD = "voicemail-interop-admin"
PASSWORD = "Secret-password-101"
PIN = "4711"
STARTUP_SECONDS = 30.0


def free_port_pair() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def free_range(size: int) -> int:
    """The first port of ``size`` consecutive UDP ports free right now (even start)."""
    for _ in range(100):
        base = random.randrange(20000, 60000 - size, 2)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
        return base
    raise RuntimeError("no free port range")


@dataclass
class Pbx:
    """A running ``centralino serve``: its ports, data directory and REST API."""

    process: subprocess.Popen[bytes]
    url: str
    sip_port: int
    data_dir: Path
    log: Path
    api: httpx.Client

    def create_extension(self, number: str, **fields: Any) -> dict[str, Any]:
        """Create extension ``number`` (auth ID ``user<number>``, PASSWORD, PIN)."""
        body = {
            "number": number,
            "auth_id": f"user{number}",
            "auth_password": PASSWORD,
            "voicemail": {"pin": PIN},
            **fields,
        }
        created = self.api.post("/api/v1/extensions", json=body)
        assert created.status_code == 201, created.text
        result: dict[str, Any] = created.json()
        return result

    def use_smtp(self, port: int) -> None:
        """Send emails through the SMTP server on 127.0.0.1:``port`` (plain)."""
        smtp = {"host": "127.0.0.1", "port": port, "starttls": False, "sender": "pbx@example.com"}
        patched = self.api.patch(
            "/api/v1/settings",
            json={"smtp": smtp},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text

    def messages(self, number: str) -> list[dict[str, Any]]:
        """``GET /api/v1/extensions/{number}/voicemail/messages``."""
        listed = self.api.get(f"/api/v1/extensions/{number}/voicemail/messages")
        assert listed.status_code == 200, listed.text
        result: list[dict[str, Any]] = listed.json()
        return result

    def message_audio(self, number: str, message_id: str) -> bytes:
        """A message's WAV."""
        url = f"/api/v1/extensions/{number}/voicemail/messages/{message_id}/audio"
        audio = self.api.get(url)
        assert audio.status_code == 200, audio.text
        assert audio.headers["content-type"] == "audio/wav"
        return audio.content

    def greetings(self, number: str) -> list[dict[str, Any]]:
        """``GET /api/v1/extensions/{number}/voicemail/greetings``."""
        listed = self.api.get(f"/api/v1/extensions/{number}/voicemail/greetings")
        assert listed.status_code == 200, listed.text
        result: list[dict[str, Any]] = listed.json()
        return result

    def greeting_audio(self, number: str, greeting_id: str) -> bytes:
        """A greeting's WAV."""
        audio = self.api.get(f"/api/v1/extensions/{number}/voicemail/greetings/{greeting_id}/audio")
        assert audio.status_code == 200, audio.text
        return audio.content

    def wait_for(self, condition: Any, within: float, what: str) -> Any:
        """Poll ``condition()`` (blocking) until it is truthy; its value."""
        deadline = time.monotonic() + within
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} (after {within} s); log:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running_pbx(root: Path, *, rtp_ports: int = 40) -> Iterator[Pbx]:
    """``centralino serve`` on free loopback ports under ``root`` for the block."""
    http_port, sip_port = free_port_pair(), free_port_pair()
    rtp_min = free_range(rtp_ports)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    environment |= {
        "CENTRALINO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CENTRALINO_RTP_PORT_MIN": str(rtp_min),
        "CENTRALINO_RTP_PORT_MAX": str(rtp_min + rtp_ports - 1),
        "CENTRALINO_LOG_LEVEL": "warning",
    }
    command = [str(SCRIPT), "serve", "--data-dir", str(data_dir), "--bind", "127.0.0.1"]
    command += ["--http-port", str(http_port), "--sip-port", str(sip_port)]
    log = root / "serve.log"
    url = f"http://127.0.0.1:{http_port}"
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb"))
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        stack.callback(_stop, process)
        _wait_for_health(url, process, log)
        token = httpx.post(
            f"{url}/api/v1/auth/token",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        api = stack.enter_context(httpx.Client(base_url=url, headers=headers, timeout=10))
        yield Pbx(process, url, sip_port, data_dir, log, api)


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        with suppress(httpx.TransportError):
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"serve did not answer /api/v1/health in time:\n{log.read_text()}")


async def baresip_ask(ctrl_port: int, command: str, params: str = "") -> str:
    """One ctrl_tcp command (netstring JSON); the raw answer (empty when none came)."""
    body = json.dumps({"command": command, "params": params, "token": command}).encode()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", ctrl_port), 5)
    try:
        writer.write(str(len(body)).encode() + b":" + body + b",")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    return answer.decode(errors="replace")


def wav_samples(wav: bytes) -> list[int]:
    """The samples of an 8 kHz 16-bit mono WAV (the PBX's audio format; asserted)."""
    with wave.open(io.BytesIO(wav), "rb") as source:
        assert (source.getframerate(), source.getnchannels(), source.getsampwidth()) == (
            8000,
            1,
            2,
        )
        data = source.readframes(source.getnframes())
    return [int.from_bytes(data[i : i + 2], "little", signed=True) for i in range(0, len(data), 2)]
