"""Property-based fuzzing of every operation in the OpenAPI document: never a 5xx.

Schemathesis drives the ASGI app in its own event-loop thread, so the
database is opened there too, on the first API request (loading the schema
at collection time touches no database). SQLite only: the point is how the
API handles bad input, which the database kind does not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Receive, Scope, Send

from centralino.admin.accounts import TokenSigner
from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.domain.errors import DomainError, NotFound
from centralino.storage import Database, SqlUnitOfWorkFactory
from tests.api.conftest import OWNER, PASSWORD, SECRET, build_services
from tests.fakes import EPOCH, FakeClock

_DIRECTORY = tempfile.TemporaryDirectory(prefix="centralino-fuzz-")
BEARER = {"Authorization": "Bearer fuzz-owner"}
"""Replaced by the wrapper with a real token of the owner (which carries its password's stamp)."""


class PreparedOnFirstCall:
    """Wraps the API: migrates and seeds its database before the first API request."""

    def __init__(self, directory: Path) -> None:
        self._database = Database(f"sqlite+aiosqlite:///{directory / 'fuzz.db'}")
        self._services = build_services(self._database, FakeClock())
        self._units = SqlUnitOfWorkFactory(self._database)
        self._app: ASGIApp = create_api(self._services)
        self._ready: asyncio.Event | None = None

    async def _prepare(self, services: ManagementServices) -> None:
        await self._database.migrate()
        await services.accounts.ensure_owner(PASSWORD)
        await services.groups.create(SYSTEM_ACTOR, {"name": "Sales"})
        await services.extensions.create(SYSTEM_ACTOR, {"number": "101"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v1"):
            if self._ready is None:
                self._ready = asyncio.Event()
                await self._prepare(self._services)
                self._ready.set()
            await self._ready.wait()
            await self._keep_extension()
            scope = await self._authorized(scope)
        await self._app(scope, receive, send)

    async def _authorized(self, scope: Scope) -> Scope:
        """The owner's current token instead of the placeholder (tokens name the password)."""
        placeholder = BEARER["Authorization"].encode()
        headers = scope["headers"]
        if not any(value == placeholder for _, value in headers):
            return scope
        async with self._units() as uow:
            account = await uow.accounts.get(OWNER)
        assert account is not None
        token = TokenSigner(SECRET).issue(
            OWNER, EPOCH + dt.timedelta(days=1), account.password_hash
        )
        bearer = f"Bearer {token}".encode()
        swapped = [(k, bearer if v == placeholder else v) for k, v in headers]
        return {**scope, "headers": swapped}

    async def _keep_extension(self) -> None:
        """Re-create extension 101 after a fuzzed DELETE, so later cases find it."""
        try:
            await self._services.extensions.get("101")
        except NotFound:
            with contextlib.suppress(DomainError):
                await self._services.extensions.create(SYSTEM_ACTOR, {"number": "101"})


# The coverage phase enumerates every boundary of every field: thousands of
# requests for the extension documents. Their fields are covered by the
# examples and fuzzing phases, and by test_bad_input.py. Changes go to the
# seeded extension, so that bodies reach validation instead of a 404.
_NO_COVERAGE = {"coverage": {"enabled": False}}
_CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {
                "include-path-regex": r"^/api/v1/extensions/\{number\}",
                "include-method-regex": "^(POST|PUT|PATCH)$",
                "parameters": {"path.number": "101"},
                "phases": _NO_COVERAGE,
            },
            {
                "include-path-regex": r"^/api/v1/extensions$",
                "include-method-regex": "^POST$",
                "phases": _NO_COVERAGE,
            },
        ]
    }
)
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", PreparedOnFirstCall(Path(_DIRECTORY.name)), config=_CONFIG
)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_5xx(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=BEARER, checks=[not_a_server_error])


async def test_the_fuzzer_is_authorized() -> None:
    """The placeholder bearer becomes a real token: fuzzed requests reach validation."""
    import httpx

    app = PreparedOnFirstCall(Path(tempfile.mkdtemp(prefix="centralino-fuzz-auth-")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        response = await client.get("/api/v1/extensions", headers=BEARER)
    assert response.status_code == 200, response.text
