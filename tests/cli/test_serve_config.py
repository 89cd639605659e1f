"""`centralino serve` takes from its flags only what was given: the TOML file is heard."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from centralino.cli.main import app
from centralino.config import Config


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """The configurations `serve` would run with (nothing is started)."""
    seen: list[Config] = []
    monkeypatch.setattr("centralino.app.serve", seen.append)
    for name in ("HTTP_PORT", "SIP_PORT", "BIND", "NODE_NAME", "DATABASE_URL"):
        monkeypatch.delenv(f"CENTRALINO_{name}", raising=False)
    return seen


def test_the_toml_file_sets_ports_and_bind(
    started: list[Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "centralino.toml"
    toml.write_text('http_port = 8181\nsip_port = 5099\nbind = "127.0.0.1"\n')
    monkeypatch.setenv("CENTRALINO_CONFIG", str(toml))
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [config] = started
    assert (config.http_port, config.sip_port, config.bind) == (8181, 5099, "127.0.0.1")


def test_flags_win_over_the_toml_file(
    started: list[Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "centralino.toml"
    toml.write_text("http_port = 8181\nsip_port = 5099\n")
    monkeypatch.setenv("CENTRALINO_CONFIG", str(toml))
    arguments = ["serve", "--data-dir", str(tmp_path), "--sip-port", "5070"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    [config] = started
    assert (config.http_port, config.sip_port) == (8181, 5070)
