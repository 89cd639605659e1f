"""An OPTIONS every 20 ms to a SIP server; prints each answer's latency (JSON).

Run as its own process (``python tests/e2e/sip_prober.py HOST PORT SECONDS``)
so that the measuring side shares no interpreter lock with the load it
measures. Sends follow a fixed schedule; one blocking UDP socket; stdlib only.
Prints ``{"latencies": [seconds or null, ...]}`` (null: no answer in 1 s).
"""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid

INTERVAL = 0.02
TIMEOUT = 1.0


def options(host: str, port: int, local: tuple[str, int], call_id: str) -> bytes:
    """One out-of-dialog OPTIONS (RFC 3261 §11)."""
    branch = f"z9hG4bK{uuid.uuid4().hex}"
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:prober@{local[0]}>;tag=prober\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def answer_to(sock: socket.socket, call_id: bytes, sent: float) -> float | None:
    """Wait for the response carrying ``call_id``; its latency, or None."""
    while True:
        remaining = sent + TIMEOUT - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return None
        if data.startswith(b"SIP/2.0 ") and call_id in data:
            return time.monotonic() - sent


def probe(host: str, port: int, seconds: float) -> list[float | None]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        local = sock.getsockname()
        latencies: list[float | None] = []
        start = next_send = time.monotonic()
        while next_send < start + seconds:
            time.sleep(max(0.0, next_send - time.monotonic()))
            call_id = f"probe-{uuid.uuid4().hex}"
            sent = time.monotonic()
            sock.send(options(host, port, local, call_id))
            latencies.append(answer_to(sock, call_id.encode(), sent))
            next_send += INTERVAL
            next_send = max(next_send, time.monotonic())  # a slow answer delays the next
        return latencies


if __name__ == "__main__":
    found = probe(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
    print(json.dumps({"latencies": found}), flush=True)
