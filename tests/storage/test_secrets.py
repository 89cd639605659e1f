"""Secrets at rest: the SMTP password and integration URLs are sealed in every table."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import JSON, String, cast, select

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import AccountRole
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.documents import JsonText
from centralino.storage.key_rotation import rotate_key_file
from centralino.storage.secrets import (
    SEALED_PREFIX,
    SecretBox,
    SecretsUnreadable,
    read_key_file,
    reseal,
)
from centralino.storage.tables import metadata
from tests.fakes import FakeClock

SMTP_PASSWORD = "smtp-hunter2-secret"
HOOK_TOKEN = "hook-token-0123456789"
HOOK = f"https://hooks.example.com/services/{HOOK_TOKEN}"
CRM = f"https://crm.example.com/lookup?api_key={HOOK_TOKEN}&caller={{caller}}"
ACTOR = Actor(username="alice", role=AccountRole.OWNER)


def _box() -> SecretBox:
    return SecretBox([Fernet.generate_key()])


def test_seal_and_open_round_trip() -> None:
    box = _box()
    sealed = box.seal("s3cret")
    assert sealed.startswith(SEALED_PREFIX)
    assert "s3cret" not in sealed
    assert box.open(sealed) == "s3cret"
    assert box.open("stored before encryption") == "stored before encryption"


def test_documents_seal_secret_keys_at_any_depth_and_nothing_else() -> None:
    box = _box()
    document = {
        "smtp": {"host": "mail.example.com", "password": SMTP_PASSWORD},
        "auth_password": "sip-stays-clear",
        "integrations": {"crm_lookup_url": CRM, "webhooks": [{"event": "x", "url": HOOK}]},
    }
    text = box.dumps(document)
    assert SMTP_PASSWORD not in text
    assert HOOK_TOKEN not in text
    assert "sip-stays-clear" in text
    assert box.loads(text) == document


def test_a_document_without_secrets_is_stored_as_given() -> None:
    text = JsonText('{"number":"101","auth_password":"x","integrations":{"webhooks":[]}}')
    assert _box().dumps(text) == text


def test_a_sealed_value_needs_its_key() -> None:
    text = _box().dumps({"password": SMTP_PASSWORD})
    with pytest.raises(SecretsUnreadable):
        _box().loads(text)
    with pytest.raises(SecretsUnreadable):
        SecretBox([]).loads(text)


def test_key_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    box = SecretBox.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_key_file(path)) == 1
    assert SecretBox.from_file(path).open(box.seal("x")) == "x"


async def _raw_documents(database: Database) -> list[str]:
    """Every JSON document of every table, as the database holds it."""
    found: list[str] = []
    async with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, JSON):
                    rows = await connection.execute(select(cast(column, String)))
                    found += [text for (text,) in rows if text]
    return found


async def _store_secrets(database: Database) -> ManagementServices:
    services = ManagementServices.build(
        SqlUnitOfWorkFactory(database), FakeClock(), secret=b"0" * 32
    )
    await services.settings.patch(ACTOR, {"smtp": {"host": "mail.example.com"}})
    await services.settings.patch(ACTOR, {"smtp": {"password": SMTP_PASSWORD}})
    integrations = {
        "crm_enabled": True,
        "crm_lookup_url": CRM,
        "webhooks": [{"event": "call_missed", "url": HOOK}],
    }
    await services.extensions.create(ACTOR, {"number": "101", "integrations": integrations})
    return services


async def test_no_table_holds_a_secret_in_clear(database_url: str) -> None:
    database = Database(database_url, secrets=_box())
    await database.migrate()
    try:
        services = await _store_secrets(database)
        raw = "\n".join(await _raw_documents(database))
        assert SMTP_PASSWORD not in raw
        assert HOOK_TOKEN not in raw
        assert SEALED_PREFIX in raw
        assert (await services.settings.get()).smtp.password == SMTP_PASSWORD
        extension = await services.extensions.get("101")
        assert str(extension.integrations.webhooks[0].url) == HOOK
    finally:
        await database.dispose()


async def test_rotation_reseals_every_secret_with_a_new_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}"
    key_file = tmp_path / "secrets.key"
    database = Database(url, secrets=SecretBox.from_file(key_file))
    await database.migrate()
    try:
        await _store_secrets(database)
        before = await _raw_documents(database)
    finally:
        await database.dispose()
    old_keys = read_key_file(key_file)

    assert await rotate_key_file(key_file, url) > 0

    new_keys = read_key_file(key_file)
    assert len(new_keys) == 1
    assert new_keys != old_keys
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    reopened = Database(url, secrets=SecretBox(new_keys))
    try:
        after = await _raw_documents(reopened)
        assert after != before
        assert HOOK_TOKEN not in "".join(after)
        services = ManagementServices.build(
            SqlUnitOfWorkFactory(reopened), FakeClock(), secret=b"0" * 32
        )
        assert (await services.settings.get()).smtp.password == SMTP_PASSWORD
        assert str((await services.extensions.get("101")).integrations.webhooks[0].url) == HOOK
    finally:
        await reopened.dispose()
    with pytest.raises(SecretsUnreadable):
        SecretBox(old_keys).loads(next(text for text in after if SEALED_PREFIX in text))


async def test_reseal_encrypts_secrets_stored_in_clear(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}"
    plain = Database(url)
    await plain.migrate()
    try:
        await _store_secrets(plain)
        assert SMTP_PASSWORD in "".join(await _raw_documents(plain))
    finally:
        await plain.dispose()
    box = _box()
    sealed = Database(url, secrets=box)
    try:
        assert await reseal(sealed.engine, box) > 0
        assert SMTP_PASSWORD not in "".join(await _raw_documents(sealed))
    finally:
        await sealed.dispose()
