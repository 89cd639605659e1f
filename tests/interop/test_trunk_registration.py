"""Centralino registers to a real provider (Kamailio, tests/interop/provider_support.py).

The trunk manager runs on a real SIP server on loopback; the provider's own
view of the binding is read from Kamailio (``ul.dump``), never from ours.
The provider clamps the expiry (``max_expires``) so a refresh comes within
seconds, and the SIP server's T1 is short so an unanswered keep-alive times
out (Timer F = 64·T1) within a second or two.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import TrunkChanged
from centralino.domain.trunks import (
    OutboundRule,
    RegistrationState,
    Trunk,
    TrunkRegistration,
    TrunkTransport,
)
from centralino.net import open_tcp, open_udp
from centralino.sip.transaction import TimerSettings
from centralino.sip.transaction_layer import TransactionLayer
from centralino.telephony.sip_server import SipServer
from centralino.telephony.trunks import TrunkManager
from tests.interop.provider_support import (
    ProviderAccount,
    ProviderOptions,
    ProviderRig,
    kamailio_available,
    provider_rig,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not kamailio_available(), reason="kamailio is not installed"),
]

ACCOUNT = ProviderAccount(username="39021234", password="trunk-secret", auth_user="acct-1")


def trunk_for(rig: ProviderRig, **changes: object) -> Trunk:
    """The PBX's trunk to ``rig``'s account (registration enabled)."""
    registration = TrunkRegistration(
        enabled=True,
        username=rig.account.username,
        auth_user=rig.account.auth_user,
        password=rig.account.password,
        expires=60,
    )
    values: dict[str, object] = {
        "name": "provider",
        "host": "127.0.0.1",
        "port": rig.port,
        "registration": registration,
    }
    values.update(changes)
    return Trunk.model_validate(values)


@dataclass
class Engine:
    """A SIP server on loopback with a trunk manager and its bus."""

    sip: SipServer
    manager: TrunkManager
    bus: LocalEventBus
    trunks: dict[str, Trunk] = field(default_factory=dict)

    async def change(self, name: str, trunk: Trunk | None) -> None:
        """Publish a trunk change as the change feed would, and wait until applied."""
        if trunk is None:
            self.trunks.pop(name, None)
        else:
            self.trunks[name] = trunk
        self.bus.publish(TrunkChanged(name=name, trunk=trunk))
        await self.manager.settled()

    async def wait_for(self, check: Callable[[], bool], within: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not check():
            if loop.time() > deadline:
                raise TimeoutError(f"{what}: {self.manager.status('provider')}")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def engine(
    trunks: Sequence[Trunk], *, options_interval: float = 30.0
) -> AsyncIterator[Engine]:
    sip = SipServer(layer=TransactionLayer(TimerSettings(t1=0.02)))
    udp = await open_udp("127.0.0.1", 0, sip.receive)
    sip.add_transport(udp)
    sip.add_transport(await open_tcp("127.0.0.1", udp.local_address[1], sip.receive))
    store = {trunk.name: trunk for trunk in trunks}

    async def load_trunks() -> Sequence[Trunk]:
        return list(store.values())

    async def load_rules() -> Sequence[OutboundRule]:
        return []

    bus = LocalEventBus()
    manager = TrunkManager(
        sip=sip, load_trunks=load_trunks, load_rules=load_rules, options_interval=options_interval
    )
    await manager.start(bus)
    try:
        yield Engine(sip=sip, manager=manager, bus=bus, trunks=store)
    finally:
        await manager.stop()
        sip.close()


async def test_registers_with_digest_and_refreshes_before_expiry(tmp_path: Path) -> None:
    options = ProviderOptions(max_expires=4)  # granted 4 s: a refresh every 2 s
    with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
        async with engine([trunk_for(rig)]) as running:
            binding = await rig.wait_registered()
            port = running.sip.local_port()
            assert binding.contact == f"sip:39021234@127.0.0.1:{port}"
            assert binding.user_agent == "Centralino"
            status = running.manager.status("provider")
            assert status is not None
            assert status.registration is RegistrationState.REGISTERED
            assert status.last_response == 200
            assert status.up
            assert running.manager.is_up("provider")
            assert status.next_refresh is not None
            refreshed = await rig.wait_refreshed(binding, within=8)
            assert refreshed.call_id == binding.call_id  # the same binding, refreshed
            assert rig.log_lines("CHALLENGE REGISTER")  # every round answered a challenge


async def test_sha256_challenge_over_tcp(tmp_path: Path) -> None:
    options = ProviderOptions(algorithm="SHA-256", tcp=True)
    with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
        trunk = trunk_for(rig, transport=TrunkTransport.TCP)
        async with engine([trunk]) as running:
            binding = await rig.wait_registered()
            assert (
                binding.contact
                == f"sip:39021234@127.0.0.1:{running.sip.local_port()};transport=tcp"
            )
            assert "(tcp)" in rig.log_lines("IN REGISTER")[-1]


async def test_wrong_password_fails_then_a_corrected_trunk_registers(tmp_path: Path) -> None:
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        wrong = trunk_for(rig)
        wrong = wrong.model_copy(
            update={"registration": wrong.registration.model_copy(update={"password": "guess"})}
        )
        async with engine([wrong]) as running:
            manager = running.manager

            def failed() -> bool:
                status = manager.status("provider")
                return status is not None and status.registration is RegistrationState.FAILED

            await running.wait_for(failed, 5, "no failure")
            status = manager.status("provider")
            assert status is not None
            assert status.last_response == 401
            assert status.last_error is not None
            assert "refused the credentials" in status.last_error
            assert not status.up
            assert status.next_refresh is not None  # a retry is scheduled
            assert len(rig.log_lines("CHALLENGE REGISTER")) == 2  # never a third try
            assert rig.contacts() == []
            await running.change("provider", trunk_for(rig))
            await rig.wait_registered()
            await running.wait_for(lambda: manager.is_up("provider"), 5, "not up")


async def test_changed_expiry_reregisters_at_once(tmp_path: Path) -> None:
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        trunk = trunk_for(rig)
        async with engine([trunk]) as running:
            binding = await rig.wait_registered()
            assert 50 < binding.expires <= 60  # granted as asked
            registration = trunk.registration.model_copy(update={"expires": 120})
            await running.change(
                "provider", trunk.model_copy(update={"registration": registration})
            )
            refreshed = await rig.wait_refreshed(binding)
            assert 100 < refreshed.expires <= 120


async def test_deleted_and_disabled_trunks_unregister(tmp_path: Path) -> None:
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        trunk = trunk_for(rig)
        async with engine([trunk]) as running:
            await rig.wait_registered()
            await running.change("provider", trunk.model_copy(update={"enabled": False}))
            await rig.wait_unregistered()
            status = running.manager.status("provider")
            assert status is not None
            assert status.registration is RegistrationState.DISABLED
            assert not status.up
            await running.change("provider", trunk)
            await rig.wait_registered()
            await running.change("provider", None)
            await rig.wait_unregistered()
            assert running.manager.status("provider") is None
            assert rig.log_lines("IN REGISTER")  # the removal went through the provider


async def test_stop_unregisters(tmp_path: Path) -> None:
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        async with engine([trunk_for(rig)]):
            await rig.wait_registered()
        assert rig.contacts() == []


async def test_keep_alive_marks_an_unregistered_trunk_down_when_the_provider_stops(
    tmp_path: Path,
) -> None:
    with provider_rig(tmp_path / "rig", ACCOUNT) as rig:
        trunk = trunk_for(rig, registration=TrunkRegistration())  # IP-authenticated
        async with engine([trunk], options_interval=0.3) as running:
            manager = running.manager

            def answered() -> bool:
                status = manager.status("provider")
                return status is not None and status.options_ok is True

            await running.wait_for(answered, 5, "keep-alive never answered")
            status = manager.status("provider")
            assert status is not None
            assert status.registration is RegistrationState.DISABLED
            assert status.up
            assert status.options_checked_at is not None
            assert rig.log_lines("IN OPTIONS")
            rig.stop()
            await running.wait_for(lambda: not manager.is_up("provider"), 15, "still up")
            status = manager.status("provider")
            assert status is not None
            assert status.options_ok is False


async def test_interval_too_brief_takes_the_providers_minimum(tmp_path: Path) -> None:
    options = ProviderOptions(min_expires=300, interval_too_brief=True)
    with provider_rig(tmp_path / "rig", ACCOUNT, options) as rig:
        async with engine([trunk_for(rig)]) as running:
            binding = await rig.wait_registered()
            assert 290 < binding.expires <= 300
            # asked again with the Min-Expires of the 423 (not raised silently)
            assert rig.log_lines("REGISTERED")[-1].endswith("expires=300")
            status = running.manager.status("provider")
            assert status is not None
            assert status.registration is RegistrationState.REGISTERED


async def test_a_trunk_moved_to_another_provider_leaves_the_first(tmp_path: Path) -> None:
    with (
        provider_rig(tmp_path / "first", ACCOUNT) as first,
        provider_rig(tmp_path / "second", ACCOUNT) as second,
    ):
        async with engine([trunk_for(first)]) as running:
            await first.wait_registered()
            await running.change("provider", trunk_for(second))
            await second.wait_registered()
            await first.wait_unregistered()
            status = running.manager.status("provider")
            assert status is not None
            assert status.registration is RegistrationState.REGISTERED
