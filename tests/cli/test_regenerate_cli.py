"""``centralino extensions regenerate``: new SIP credentials from a shell.

The change is the API's (``POST .../credentials/regenerate``): audited as
``cli:<user>`` and written to the change feed as ``CredentialsChanged`` in
the same transaction, so a running server ends the old registrations
(tests/e2e/test_change_feed_serve.py proves that against ``serve``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from centralino.app import open_runtime
from centralino.config import Config
from centralino.domain.audit import AuditAction
from centralino.domain.events import CredentialsChanged
from centralino.domain.ports import AuditQuery
from tests.cli.conftest import Cli, cli_actor, on_data_dir


def _json(text: str) -> Any:
    return json.loads(text)


def _credentials_changes(data_dir: Path) -> list[CredentialsChanged]:
    """The ``CredentialsChanged`` events in the data directory's change feed."""

    async def read() -> list[CredentialsChanged]:
        async with open_runtime(Config(data_dir=data_dir)) as runtime, runtime.units() as uow:
            batch = await uow.changes.after(0, 100)
        return [c.event for c in batch.changes if isinstance(c.event, CredentialsChanged)]

    return asyncio.run(read())


def test_regenerate_gives_a_new_password_and_keeps_the_auth_id(cli: Cli, data_dir: Path) -> None:
    before = _json(cli("extensions", "add", "101").stdout)
    outcome = cli("extensions", "regenerate", "101")
    assert outcome.code == 0, outcome.stderr
    after = _json(outcome.stdout)
    assert after["auth_id"] == before["auth_id"]
    assert after["auth_password"] != before["auth_password"]
    assert len(after["auth_password"]) >= 16
    assert _json(cli("extensions", "show", "101").stdout) == after

    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery(resource_id="101")))
    [entry] = [e for e in page.items if e.action is AuditAction.REGENERATE_CREDENTIALS]
    assert entry.actor == cli_actor()
    [change] = _credentials_changes(data_dir)
    assert change == CredentialsChanged(number="101", old_auth_id=before["auth_id"])


def test_regenerate_with_auth_id_gives_a_new_auth_id_too(cli: Cli) -> None:
    before = _json(cli("extensions", "add", "101").stdout)
    outcome = cli("extensions", "regenerate", "101", "--auth-id")
    assert outcome.code == 0, outcome.stderr
    after = _json(outcome.stdout)
    assert after["auth_id"] != before["auth_id"]
    assert after["auth_password"] != before["auth_password"]


def test_regenerating_an_unknown_extension_is_not_found(cli: Cli) -> None:
    outcome = cli("extensions", "regenerate", "199")
    assert outcome.code == 3
    assert "199" in outcome.stderr
