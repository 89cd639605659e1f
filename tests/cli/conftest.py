"""Run the real ``centralino`` command on a temporary data directory.

``cli`` runs a command in-process with Typer's runner (fast: most tests);
``centralino_process`` runs the installed script in a new process, as a shell
would (each call opens the SQLite file afresh, so persistence is real).
Both return ``Outcome`` (exit code, stdout, stderr).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from typer.testing import CliRunner

from centralino.admin.services import ManagementServices
from centralino.app import open_runtime
from centralino.cli.main import app
from centralino.config import Config

SCRIPT = Path(sys.executable).with_name("centralino")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


class Cli(Protocol):
    def __call__(self, *arguments: str, data_dir: Path | None = None) -> Outcome: ...


def cli_actor() -> str:
    """The audit actor of a CLI change made by this test process's user."""
    return f"cli:{getpass.getuser()}"


def clean_environment() -> dict[str, str]:
    """The environment without any CENTRALINO_* setting of the developer's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}


@pytest.fixture(autouse=True)
def _no_centralino_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CENTRALINO_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(data_dir: Path) -> Cli:
    runner = CliRunner()

    def run(*arguments: str, data_dir: Path = data_dir) -> Outcome:
        result = runner.invoke(app, [*arguments, "--data-dir", str(data_dir)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def centralino_process(data_dir: Path) -> Cli:
    def run(*arguments: str, data_dir: Path = data_dir) -> Outcome:
        completed = subprocess.run(
            [str(SCRIPT), *arguments, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            env=clean_environment(),
            timeout=60,
        )
        return Outcome(completed.returncode, completed.stdout, completed.stderr)

    return run


def on_data_dir(
    data_dir: Path, action: Callable[[ManagementServices], Coroutine[Any, Any, T]]
) -> T:
    """Run a use-case directly on the data directory (to check what the CLI did)."""

    async def run() -> T:
        async with open_runtime(Config(data_dir=data_dir)) as runtime:
            return await action(runtime.services)

    return asyncio.run(run())
