"""Accounts: the owner on first start, logins and bearer tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.admin.accounts import TOKEN_LIFETIME, TokenSigner
from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import OWNER_USERNAME, Account, AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.errors import InvalidInput, NotFound, Unauthorized
from tests.fakes import FakeClock, InMemoryStore


async def test_ensure_owner_creates_once_and_returns_the_password_once(
    services: ManagementServices, store: InMemoryStore
) -> None:
    password = await services.accounts.ensure_owner()
    assert password is not None
    assert len(password) >= 12
    owner = store.state.accounts[OWNER_USERNAME]
    assert owner.role is AccountRole.OWNER
    assert password not in owner.password_hash
    assert await services.accounts.ensure_owner() is None
    assert await services.accounts.ensure_owner("AnotherPassword1") is None
    assert store.state.accounts[OWNER_USERNAME] == owner


async def test_ensure_owner_with_a_chosen_password(services: ManagementServices) -> None:
    assert await services.accounts.ensure_owner("ChosenPassword12") == "ChosenPassword12"
    token = await services.accounts.login(OWNER_USERNAME, "ChosenPassword12")
    actor = await services.accounts.actor_for_token(token)
    assert actor == Actor(username=OWNER_USERNAME, role=AccountRole.OWNER)


async def test_ensure_owner_refuses_a_weak_password(
    services: ManagementServices, store: InMemoryStore
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await services.accounts.ensure_owner("short")
    assert caught.value.errors[0].path == "password"
    assert store.state.accounts == {}


async def test_login_good_and_bad(services: ManagementServices) -> None:
    password = await services.accounts.ensure_owner()
    assert password is not None
    token = await services.accounts.login(OWNER_USERNAME, password)
    assert (await services.accounts.actor_for_token(token)).username == OWNER_USERNAME
    with pytest.raises(Unauthorized) as wrong_password:
        await services.accounts.login(OWNER_USERNAME, password + "x")
    with pytest.raises(Unauthorized) as unknown_user:
        await services.accounts.login("mallory", password)
    assert str(wrong_password.value) == str(unknown_user.value)


async def test_token_expires_after_twelve_hours(
    services: ManagementServices, clock: FakeClock
) -> None:
    password = await services.accounts.ensure_owner()
    assert password is not None
    token = await services.accounts.login(OWNER_USERNAME, password)
    clock.advance(TOKEN_LIFETIME - dt.timedelta(seconds=1))
    assert (await services.accounts.actor_for_token(token)).username == OWNER_USERNAME
    clock.advance(seconds=1)
    with pytest.raises(Unauthorized, match="expired"):
        await services.accounts.actor_for_token(token)
    clock.advance(hours=100)
    with pytest.raises(Unauthorized):
        await services.accounts.actor_for_token(token)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: ".".join(
            [token.split(".")[0], str(int(token.split(".")[1]) + 3600), token.split(".")[2]]
        ),
        lambda token: "bWFsbG9yeQ." + ".".join(token.split(".")[1:]),  # "mallory"
        lambda token: TokenSigner(b"another secret").issue(
            "admin", dt.datetime(2100, 1, 1, tzinfo=dt.UTC), "a hash"
        ),
        lambda token: ".".join([*token.split(".")[:2], "AAAAAAAAAAAAAAAA", token.split(".")[3]]),
        lambda token: "",
        lambda token: "a.b",
        lambda token: "a.b.c.d",
        lambda token: "a.b.c.d.e",
        lambda token: ".".join(token.split(".")[:2] + token.split(".")[3:]),  # the old format
        lambda token: "@@@.notanumber.sig",
        lambda token: token.split(".")[0] + ".123.é",
        lambda token: token + "x",
    ],
)
async def test_forged_or_malformed_token_is_refused(services: ManagementServices, forge) -> None:  # type: ignore[no-untyped-def]
    password = await services.accounts.ensure_owner()
    assert password is not None
    token = await services.accounts.login(OWNER_USERNAME, password)
    with pytest.raises(Unauthorized):
        await services.accounts.actor_for_token(forge(token))


def test_token_round_trip_with_the_signer() -> None:
    signer = TokenSigner(b"secret")
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    token = signer.issue("zoë.admin", now + dt.timedelta(hours=1), "$argon2id$hash")
    claims = signer.verify(token, now)
    assert claims.username == "zoë.admin"
    assert signer.is_current(claims, "$argon2id$hash")
    assert not signer.is_current(claims, "$argon2id$another-hash")
    with pytest.raises(Unauthorized):
        TokenSigner(b"other").verify(token, now)
    with pytest.raises(Unauthorized):
        signer.verify(token, now + dt.timedelta(hours=1))


async def test_token_of_a_deleted_account_is_refused(
    services: ManagementServices, store: InMemoryStore
) -> None:
    password = await services.accounts.ensure_owner()
    assert password is not None
    token = await services.accounts.login(OWNER_USERNAME, password)
    store.state.accounts.clear()
    with pytest.raises(Unauthorized, match="no longer exists"):
        await services.accounts.actor_for_token(token)


async def test_set_password(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    old = await services.accounts.ensure_owner()
    assert old is not None
    await services.accounts.set_password(actor, OWNER_USERNAME, "BrandNewPassword9")
    await services.accounts.login(OWNER_USERNAME, "BrandNewPassword9")
    with pytest.raises(Unauthorized):
        await services.accounts.login(OWNER_USERNAME, old)
    [entry] = store.state.audit
    assert (entry.action, entry.actor, entry.resource_id) == (
        AuditAction.CHANGE_PASSWORD,
        "alice",
        OWNER_USERNAME,
    )
    assert "BrandNewPassword9" not in entry.model_dump_json()


async def test_set_password_refuses_weak_and_unknown(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    await services.accounts.ensure_owner("ChosenPassword12")
    before = store.snapshot()
    with pytest.raises(InvalidInput):
        await services.accounts.set_password(actor, OWNER_USERNAME, "weak")
    with pytest.raises(NotFound):
        await services.accounts.set_password(actor, "nobody", "LongEnoughPassword1")
    assert store.state == before


async def test_account_with_a_broken_hash_cannot_log_in(
    services: ManagementServices, store: InMemoryStore
) -> None:
    store.state.accounts["bob"] = Account(username="bob", password_hash="not-a-hash")
    with pytest.raises(Unauthorized):
        await services.accounts.login("bob", "whatever-password")
