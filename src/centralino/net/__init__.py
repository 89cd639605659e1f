"""Glue: asyncio transports for SIP (UDP, TCP). The only package with sockets."""

from centralino.net.tcp import TcpTransport, open_tcp
from centralino.net.transport import Peer, Transport, TransportKind
from centralino.net.udp import UdpTransport, open_udp

__all__ = [
    "Peer",
    "TcpTransport",
    "Transport",
    "TransportKind",
    "UdpTransport",
    "open_tcp",
    "open_udp",
]
