"""System settings (networks, numbering) and the in-process event bus."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.admin.validation import parse_model
from centralino.domain.bus import LocalEventBus
from centralino.domain.errors import InvalidInput
from centralino.domain.events import DomainEvent, ExtensionDeleted
from centralino.domain.settings import NetworkSettings, SystemSettings


def test_default_settings() -> None:
    settings = SystemSettings()
    assert settings.numbering.extension_length == 3
    assert settings.smtp.port == 587
    assert "192.168.0.0/16" in settings.network.local_networks


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("172.32.0.1", False),
        ("192.168.1.20", True),
        ("8.8.8.8", False),
        ("::1", True),
        ("2001:db8::1", False),
    ],
)
def test_is_local_with_default_networks(address: str, local: bool) -> None:
    assert SystemSettings().network.is_local(address) is local


def test_networks_are_normalised_and_checked() -> None:
    network = NetworkSettings(local_networks=[" 192.168.1.7/24 ", "2001:db8::/32"])
    assert network.local_networks == ["192.168.1.0/24", "2001:db8::/32"]
    assert network.is_local("192.168.1.200")
    assert not network.is_local("192.168.2.1")
    assert network.is_local("2001:db8::5")


def test_no_local_networks_means_nothing_is_local() -> None:
    assert not NetworkSettings(local_networks=[]).is_local("127.0.0.1")


@pytest.mark.parametrize("bad", ["192.168.1.0/33", "not-a-net", "10.0.0.0/8/8", ""])
def test_bad_cidr_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(SystemSettings, {"network": {"local_networks": ["10.0.0.0/8", bad]}})
    [error] = caught.value.errors
    assert error.path == "network.local_networks"
    assert "CIDR" in error.reason


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"numbering": {"extension_length": 1}}, "numbering.extension_length"),
        ({"numbering": {"extension_length": 7}}, "numbering.extension_length"),
        ({"smtp": {"port": 0}}, "smtp.port"),
        ({"smtp": {"port": 70000}}, "smtp.port"),
        ({"smtp": {"sender": "nobody"}}, "smtp.sender"),
        ({"smtp": {"host": "mail server"}}, "smtp.host"),
        ({"network": {"public_host": "pbx example"}}, "network.public_host"),
        ({"ldap": {}}, "ldap"),
    ],
)
def test_bad_settings_name_the_field(document: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(SystemSettings, document)
    assert [e.path for e in caught.value.errors] == [path]


def test_bus_delivers_to_every_subscriber_in_order() -> None:
    bus = LocalEventBus()
    seen: list[tuple[str, DomainEvent]] = []
    bus.subscribe(lambda event: seen.append(("a", event)))
    bus.subscribe(lambda event: seen.append(("b", event)))
    bus.publish(ExtensionDeleted(number="100"))
    bus.publish(ExtensionDeleted(number="101"))
    assert seen == [
        ("a", ExtensionDeleted(number="100")),
        ("b", ExtensionDeleted(number="100")),
        ("a", ExtensionDeleted(number="101")),
        ("b", ExtensionDeleted(number="101")),
    ]


def test_bus_unsubscribe() -> None:
    bus = LocalEventBus()
    seen: list[DomainEvent] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.publish(ExtensionDeleted(number="100"))
    unsubscribe()
    bus.publish(ExtensionDeleted(number="101"))
    assert seen == [ExtensionDeleted(number="100")]


def test_bus_without_subscribers_is_quiet() -> None:
    LocalEventBus().publish(ExtensionDeleted(number="100"))


def test_failing_subscriber_does_not_stop_the_others() -> None:
    failures: list[tuple[DomainEvent, Exception]] = []
    bus = LocalEventBus(on_error=lambda event, exc: failures.append((event, exc)))
    seen: list[DomainEvent] = []

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish(ExtensionDeleted(number="100"))
    assert seen == [ExtensionDeleted(number="100")]
    assert [(event, str(exc)) for event, exc in failures] == [
        (ExtensionDeleted(number="100"), "boom")
    ]


def test_failing_subscriber_raises_without_error_handler() -> None:
    bus = LocalEventBus()

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    with pytest.raises(RuntimeError, match="boom"):
        bus.publish(ExtensionDeleted(number="100"))


def test_subscriber_may_unsubscribe_while_handling() -> None:
    bus = LocalEventBus()
    seen: list[str] = []
    unsubscribe = None

    def once(event: DomainEvent) -> None:
        seen.append("once")
        assert unsubscribe is not None
        unsubscribe()

    unsubscribe = bus.subscribe(once)
    bus.subscribe(lambda event: seen.append("always"))
    bus.publish(ExtensionDeleted(number="100"))
    bus.publish(ExtensionDeleted(number="101"))
    assert seen == ["once", "always", "always"]
