"""Management services wired to the in-memory fakes."""

from __future__ import annotations

import random

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import AccountRole
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.group import Group
from tests.fakes import FakeClock, InMemoryStore, RecordingEventBus

SECRET = b"test-secret-0123456789"


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus() -> RecordingEventBus:
    return RecordingEventBus()


@pytest.fixture
def services(store: InMemoryStore, bus: RecordingEventBus, clock: FakeClock) -> ManagementServices:
    generator = CredentialGenerator(random.Random(1234))
    return ManagementServices.build(store, bus, clock, SECRET, generator)


@pytest.fixture
def actor() -> Actor:
    return Actor(username="alice", role=AccountRole.ADMINISTRATOR)


@pytest.fixture
def groups(store: InMemoryStore) -> None:
    store.seed(groups=[Group(name="sales"), Group(name="support")])
