"""Every file the PBX writes is its owner's alone: data directory 0700, files 0600."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from centralino.domain.ports import AudioKind
from centralino.storage import FileAudioArchive
from tests.cli.conftest import Cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(root: Path) -> dict[str, int]:
    """The mode of ``root`` and of everything under it, by relative path."""
    found = {".": _mode(root)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = _mode(path)
    return found


def test_the_data_directory_and_every_file_in_it_are_owner_only(cli: Cli, data_dir: Path) -> None:
    assert cli("extensions", "add", "101", "first_name=Ada").code == 0
    assert cli("extensions", "export", str(data_dir / "extensions.csv")).code == 0
    archive = FileAudioArchive(data_dir / "audio")
    asyncio.run(archive.write(AudioKind.MESSAGE, "101", "message-1", b"RIFF-not-really"))

    modes = _modes(data_dir)
    expected = {"centralino.db", "secret.key", "secrets.key", "extensions.csv"}
    assert expected <= set(modes)
    assert "audio/message/101/message-1.wav" in modes
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_a_looser_data_directory_is_tightened(cli: Cli, data_dir: Path) -> None:
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "centralino.db").touch(mode=0o644)
    assert cli("extensions", "list").code == 0
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "centralino.db") == 0o600


def test_an_export_replacing_a_readable_file_makes_it_owner_only(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o644)
    cli("extensions", "add", "101")
    assert cli("extensions", "export", str(target)).code == 0
    assert _mode(target) == 0o600
    assert target.read_text().startswith("number,")


def test_the_installed_command_writes_with_umask_077(
    centralino_process: Cli, data_dir: Path
) -> None:
    outcome = centralino_process("extensions", "add", "101")
    assert outcome.code == 0, outcome.stderr
    modes = _modes(data_dir)
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_secrets_rotate_from_the_shell(cli: Cli, data_dir: Path) -> None:
    assert cli("extensions", "add", "101").code == 0
    before = (data_dir / "secrets.key").read_text()
    outcome = cli("secrets", "rotate")
    assert outcome.code == 0, outcome.stderr
    assert "encrypted again" in outcome.stdout
    assert (data_dir / "secrets.key").read_text() != before
    assert _mode(data_dir / "secrets.key") == 0o600
    assert cli("extensions", "show", "101").code == 0


def test_hostile_cells_round_trip_through_the_shell(cli: Cli, tmp_path: Path) -> None:
    cli("extensions", "add", "101", 'first_name==HYPERLINK("http://x")', "last_name=@SUM(1)")
    cli("extensions", "add", "102", "first_name=-2+3", "mobile=+390612345678")
    exported = tmp_path / "extensions.csv"
    assert cli("extensions", "export", str(exported)).code == 0
    text = exported.read_text()
    assert '\'=HYPERLINK(""http://x"")' in text
    assert "'@SUM(1)" in text
    assert "'-2+3" in text
    fresh = tmp_path / "fresh"
    assert cli("extensions", "import", str(exported), data_dir=fresh).code == 0
    for number in ("101", "102"):
        assert cli("extensions", "show", number, data_dir=fresh).stdout == (
            cli("extensions", "show", number).stdout
        )
