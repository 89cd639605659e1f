"""Management services wired to the in-memory fakes."""

from __future__ import annotations

import functools
import random

import pytest
from argon2 import PasswordHasher

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import AccountRole
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.group import Group
from tests.fakes import FakeClock, InMemoryAudioArchive, InMemoryStore, RecordingEventBus

SECRET = b"test-secret-0123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus() -> RecordingEventBus:
    """What the change feed delivered (the store publishes committed changes on it)."""
    return RecordingEventBus()


@pytest.fixture
def store(bus: RecordingEventBus, clock: FakeClock) -> InMemoryStore:
    return InMemoryStore(feed=bus, clock=clock)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: same code path, a fraction of the time."""
    cheap = functools.partial(PasswordHasher, time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr("centralino.admin.accounts.PasswordHasher", cheap)


@pytest.fixture
def archive() -> InMemoryAudioArchive:
    """Where greetings, messages and recordings go (in memory, inspectable)."""
    return InMemoryAudioArchive()


@pytest.fixture
def services(
    store: InMemoryStore, clock: FakeClock, archive: InMemoryAudioArchive
) -> ManagementServices:
    generator = CredentialGenerator(random.Random(1234))
    return ManagementServices.build(store, clock, SECRET, generator, audio=archive)


@pytest.fixture
def actor() -> Actor:
    return Actor(username="alice", role=AccountRole.ADMINISTRATOR)


@pytest.fixture
def groups(store: InMemoryStore) -> None:
    store.seed(groups=[Group(name="sales"), Group(name="support")])
