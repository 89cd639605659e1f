"""Logging in: throttled, off the event loop, equal timing, tokens revoked by a new password."""

from __future__ import annotations

import asyncio
import functools
import statistics
import threading
import time

import pytest
from argon2 import PasswordHasher

from centralino.admin.accounts import AccountService, TokenSigner
from centralino.admin.context import Actor
from centralino.admin.login_throttle import LoginThrottle, ThrottlePolicy
from centralino.admin.services import ManagementServices
from centralino.admin.workers import SlowWork
from centralino.domain.account import OWNER_USERNAME, Account, AccountRole
from centralino.domain.errors import Busy, TooManyAttempts, Unauthorized
from tests.admin.conftest import SECRET
from tests.fakes import FakeClock, InMemoryStore

PASSWORD = "the-right-password"
ATTACKER = "203.0.113.9"


async def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(
    services: ManagementServices, clock: FakeClock
) -> None:
    await services.accounts.ensure_owner(PASSWORD)
    refused = 0
    for attempt in range(200):
        clock.advance(seconds=0.1)  # 200 guesses in 20 s
        try:
            await services.accounts.login(OWNER_USERNAME, f"guess-{attempt}", ATTACKER)
        except TooManyAttempts:
            refused += 1
        except Unauthorized:
            pass
    assert refused > 190
    with pytest.raises(TooManyAttempts) as caught:
        await services.accounts.login(OWNER_USERNAME, PASSWORD, ATTACKER)
    assert caught.value.retry_after >= 1
    clock.advance(seconds=caught.value.retry_after)
    assert await services.accounts.login(OWNER_USERNAME, PASSWORD, ATTACKER)


async def test_unknown_names_are_throttled_like_known_ones(
    services: ManagementServices,
) -> None:
    """The throttle must not tell which user names exist."""
    await services.accounts.ensure_owner(PASSWORD)
    outcomes = {}
    for name in (OWNER_USERNAME, "nobody"):
        answers = []
        for index in range(7):
            try:
                await services.accounts.login(name, "wrong", f"198.51.100.{index}")
            except (TooManyAttempts, Unauthorized) as exc:
                answers.append(type(exc).__name__)
        outcomes[name] = answers
    assert outcomes[OWNER_USERNAME] == outcomes["nobody"]
    assert outcomes["nobody"][-1] == "TooManyAttempts"


async def test_the_owners_desk_logs_in_while_the_account_is_attacked(
    services: ManagementServices,
) -> None:
    await services.accounts.ensure_owner(PASSWORD)
    await services.accounts.login(OWNER_USERNAME, PASSWORD, "192.168.1.20")
    for attempt in range(10):
        with pytest.raises((TooManyAttempts, Unauthorized)):
            await services.accounts.login(OWNER_USERNAME, f"guess-{attempt}", ATTACKER)
    with pytest.raises(TooManyAttempts):
        await services.accounts.login(OWNER_USERNAME, PASSWORD, "198.51.100.1")
    assert await services.accounts.login(OWNER_USERNAME, PASSWORD, "192.168.1.20")


@pytest.mark.parametrize("role", list(AccountRole))
async def test_a_password_change_revokes_the_tokens_issued_before(
    services: ManagementServices, store: InMemoryStore, actor: Actor, role: AccountRole
) -> None:
    await services.accounts.ensure_owner(PASSWORD)
    username = OWNER_USERNAME if role is AccountRole.OWNER else "bob"
    if role is not AccountRole.OWNER:
        owner_hash = store.state.accounts[OWNER_USERNAME].password_hash
        store.state.accounts["bob"] = Account(username="bob", password_hash=owner_hash, role=role)
    old = await services.accounts.login(username, PASSWORD)
    assert (await services.accounts.actor_for_token(old)).role is role
    await services.accounts.set_password(actor, username, "a-brand-new-password")
    with pytest.raises(Unauthorized, match="password was changed"):
        await services.accounts.actor_for_token(old)
    new = await services.accounts.login(username, "a-brand-new-password")
    assert (await services.accounts.actor_for_token(new)).username == username


async def test_setting_the_same_password_again_also_revokes(
    services: ManagementServices, actor: Actor
) -> None:
    """A new salt makes a new hash: "log out everywhere" is setting the password."""
    await services.accounts.ensure_owner(PASSWORD)
    old = await services.accounts.login(OWNER_USERNAME, PASSWORD)
    await services.accounts.set_password(actor, OWNER_USERNAME, PASSWORD)
    with pytest.raises(Unauthorized):
        await services.accounts.actor_for_token(old)


async def test_hashing_runs_on_a_worker_thread(
    services: ManagementServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = PasswordHasher.verify

    def watched(self: PasswordHasher, stored: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return original(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", watched)
    await services.accounts.ensure_owner(PASSWORD)
    await services.accounts.login(OWNER_USERNAME, PASSWORD)
    with pytest.raises(Unauthorized):
        await services.accounts.login("nobody", PASSWORD)
    assert len(threads) == 2
    assert all(name.startswith("slow-work") for name in threads), threads


async def test_a_full_queue_answers_busy_at_once(store: InMemoryStore, clock: FakeClock) -> None:
    work = SlowWork(threads=1, max_queued=1)
    accounts = AccountService(store, clock, TokenSigner(SECRET), work=work)
    await accounts.ensure_owner(PASSWORD)
    release = threading.Event()
    blockers = [asyncio.create_task(work.run(release.wait)) for _ in range(2)]
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(Busy) as caught:
        await accounts.login(OWNER_USERNAME, PASSWORD, "192.168.1.20")
    assert time.monotonic() - started < 0.05
    assert caught.value.retry_after >= 1
    release.set()
    await asyncio.gather(*blockers)
    assert await accounts.login(OWNER_USERNAME, PASSWORD, "192.168.1.20")
    work.shutdown()


async def test_a_cancelled_wait_keeps_its_place_until_the_thread_is_done() -> None:
    work = SlowWork(threads=1, max_queued=0)
    release = threading.Event()
    waiting = asyncio.create_task(work.run(release.wait))
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.sleep(0.01)
    with pytest.raises(Busy):
        work.check_room()  # the thread is still busy
    release.set()
    for _ in range(100):
        if work.pending == 0:
            break
        await asyncio.sleep(0.01)
    assert work.pending == 0
    work.shutdown()


async def test_unknown_and_known_names_take_the_same_time(
    store: InMemoryStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Medians over ten tries each within 30%, with argon2 costing ~10 ms."""
    measurable = functools.partial(PasswordHasher, time_cost=2, memory_cost=8192, parallelism=1)
    monkeypatch.setattr("centralino.admin.accounts.PasswordHasher", measurable)
    permissive = LoginThrottle(ThrottlePolicy(free_failures=1000))
    accounts = AccountService(store, clock, TokenSigner(SECRET), throttle=permissive)
    await accounts.ensure_owner(PASSWORD)
    await accounts.prepare()

    async def timed(username: str) -> float:
        started = time.perf_counter()
        with pytest.raises(Unauthorized):
            await accounts.login(username, "a-wrong-password")
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(10):
        known.append(await timed(OWNER_USERNAME))
        unknown.append(await timed("nobody"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 < ratio < 1.3, (statistics.median(known), statistics.median(unknown))
