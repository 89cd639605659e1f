"""RTP/RTCP sockets and the port range: allocation, binding, loopback traffic."""

from __future__ import annotations

import asyncio
import socket

import pytest

from centralino.net.rtp import (
    Address,
    PortAllocator,
    PortsExhausted,
    SocketKind,
    bind_rtp_pair,
)


def test_allocator_hands_out_even_ports_with_room_for_rtcp() -> None:
    allocator = PortAllocator(10001, 10008)
    assert allocator.capacity == 3  # 10002, 10004, 10006 (10008 has no 10009)
    ports = [allocator.allocate() for _ in range(3)]
    assert ports == [10002, 10004, 10006]
    assert allocator.in_use == 3


def test_allocator_exhausted_names_the_range_then_reuses_a_released_pair() -> None:
    allocator = PortAllocator(20000, 20003)
    first, second = allocator.allocate(), allocator.allocate()
    with pytest.raises(PortsExhausted, match="20000-20003"):
        allocator.allocate()
    allocator.release(first)
    assert allocator.allocate() == first
    allocator.release(second)
    allocator.release(second)  # twice is harmless
    assert allocator.in_use == 1


def test_allocator_is_round_robin_so_a_released_port_rests() -> None:
    allocator = PortAllocator(30000, 30007)
    first = allocator.allocate()
    allocator.release(first)
    assert allocator.allocate() != first


@pytest.mark.parametrize(("minimum", "maximum"), [(10000, 10000), (10001, 10002), (65534, 65535)])
def test_allocator_refuses_a_range_without_a_pair(minimum: int, maximum: int) -> None:
    if (minimum, maximum) == (65534, 65535):
        assert PortAllocator(minimum, maximum).capacity == 1
        return
    with pytest.raises(ValueError, match="no RTP/RTCP port pair"):
        PortAllocator(minimum, maximum)


def _free_even_range(pairs: int) -> int:
    """A base port with ``pairs`` free pairs above it (best effort, on loopback)."""
    for base in range(42000, 60000, 200):
        try:
            probes = []
            for port in range(base, base + 2 * pairs):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError("no free port range")


async def test_bind_skips_a_pair_another_process_holds() -> None:
    base = _free_even_range(2)
    allocator = PortAllocator(base, base + 3)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", base + 1))  # the RTCP port of the first pair
    try:
        pair = bind_rtp_pair("127.0.0.1", allocator, lambda *_: None)
        assert (pair.port, pair.rtcp_port) == (base + 2, base + 3)
        assert allocator.in_use == 1  # the busy pair was given back
        with pytest.raises(PortsExhausted):
            bind_rtp_pair("127.0.0.1", allocator, lambda *_: None)
        pair.close()
        assert allocator.in_use == 0
    finally:
        squatter.close()


async def test_pair_receives_and_sends_on_both_sockets_then_frees_its_ports() -> None:
    base = _free_even_range(1)
    allocator = PortAllocator(base, base + 1)
    received: list[tuple[SocketKind, bytes, Address]] = []
    pair = bind_rtp_pair("127.0.0.1", allocator, lambda *item: received.append(item))
    await pair.attach()
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        phone.sendto(b"rtp", ("127.0.0.1", pair.port))
        phone.sendto(b"rtcp", ("127.0.0.1", pair.rtcp_port))
        for _ in range(100):
            if len(received) == 2:
                break
            await asyncio.sleep(0.01)
        source = phone.getsockname()
        assert sorted(received, key=lambda item: item[0].value) == [
            (SocketKind.RTP, b"rtp", source),
            (SocketKind.RTCP, b"rtcp", source),
        ]
        pair.send_rtp(b"back", source)
        data, sender = await asyncio.wait_for(loop.sock_recvfrom(phone, 100), 2)
        assert (data, sender) == (b"back", ("127.0.0.1", pair.port))
        pair.send_rtcp(b"report", source)
        data, sender = await asyncio.wait_for(loop.sock_recvfrom(phone, 100), 2)
        assert (data, sender) == (b"report", ("127.0.0.1", pair.rtcp_port))
    finally:
        phone.close()
        pair.close()
        pair.close()
    assert allocator.in_use == 0
    await asyncio.sleep(0.01)  # the transports finish closing
    again = bind_rtp_pair("127.0.0.1", allocator, lambda *_: None)
    assert again.port == base
    again.close()


async def test_closing_before_attachment_closes_the_sockets() -> None:
    base = _free_even_range(1)
    allocator = PortAllocator(base, base + 1)
    pair = bind_rtp_pair("127.0.0.1", allocator, lambda *_: None)
    task = pair.attach()
    pair.close()
    await task
    await asyncio.sleep(0.01)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", base))  # free again
    probe.close()
