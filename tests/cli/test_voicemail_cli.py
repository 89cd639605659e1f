"""``centralino voicemail ...`` and ``centralino recordings ...``.

The same use-cases as the API, on the data directory's database and audio
archive (``data/audio``, the one ``serve`` uses); changes audited as the CLI
user; exit 2 for bad input naming the reason, 3 for what does not exist.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import struct
import wave
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from centralino.cli.main import app
from centralino.domain.audit import AuditAction
from centralino.domain.ports import AuditQuery
from tests.cli.conftest import Cli, cli_actor, on_data_dir


def _pcm(seconds: float, rate: int = 8000) -> bytes:
    samples = (
        int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
    )
    return b"".join(struct.pack("<h", sample) for sample in samples)


def _wav_file(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(_pcm(seconds, rate))
    return path


def _parsed(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data), "rb") as reader:
        frames = reader.getnframes()
        rate = reader.getframerate()
        return reader.getnchannels(), reader.getsampwidth(), rate, frames / rate


def _json(text: str) -> Any:
    return json.loads(text)


def _audit_actors(data_dir: Path, resource: str) -> list[tuple[AuditAction, str]]:
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery(resource=resource)))
    return [(entry.action, entry.actor) for entry in sorted(page.items, key=lambda e: e.at)]


def _archived(data_dir: Path, kind: str) -> list[Path]:
    return sorted((data_dir / "audio" / kind).rglob("*.wav"))


def test_greetings_upload_list_activate_rename_and_remove(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    assert cli("extensions", "add", "101").code == 0
    wav = _wav_file(tmp_path / "hello.wav", seconds=2.0)

    uploaded = cli("voicemail", "upload", "101", str(wav), "--name", "Office")
    assert uploaded.code == 0, uploaded.stderr
    assert "'Office'" in uploaded.stdout
    assert "active" not in uploaded.stdout
    (greeting,) = _json(cli("voicemail", "greetings", "101", "--json").stdout)
    assert greeting["name"] == "Office"
    assert greeting["active"] is False
    assert abs(greeting["duration"] - 2.0) < 0.01
    # the file is in the archive serve plays greetings from
    assert [p.stem for p in _archived(data_dir, "greeting")] == [greeting["id"]]

    table = cli("voicemail", "greetings", "101")
    assert greeting["id"] in table.stdout
    assert "Office" in table.stdout
    assert "no active greeting" in table.stdout

    activated = cli("voicemail", "activate", "101", greeting["id"])
    assert activated.code == 0, activated.stderr
    assert "active" in activated.stdout
    extension = on_data_dir(data_dir, lambda s: s.extensions.get("101"))
    assert extension.voicemail.active_greeting == greeting["id"]

    renamed = cli("voicemail", "rename", "101", greeting["id"], "Holidays")
    assert renamed.code == 0, renamed.stderr
    (listed,) = _json(cli("voicemail", "greetings", "101", "--json").stdout)
    assert (listed["name"], listed["active"]) == ("Holidays", True)

    second = cli("voicemail", "upload", "101", str(wav), "--name", "Night", "--activate")
    assert second.code == 0, second.stderr
    assert "active" in second.stdout
    greetings = _json(cli("voicemail", "greetings", "101", "--json").stdout)
    assert [(g["name"], g["active"]) for g in greetings] == [
        ("Holidays", False),
        ("Night", True),
    ]

    removed = cli("voicemail", "remove-greeting", "101", greetings[1]["id"])
    assert removed.code == 0, removed.stderr
    remaining = _json(cli("voicemail", "greetings", "101", "--json").stdout)
    assert [g["id"] for g in remaining] == [greeting["id"]]
    assert [p.stem for p in _archived(data_dir, "greeting")] == [greeting["id"]]
    extension = on_data_dir(data_dir, lambda s: s.extensions.get("101"))
    assert extension.voicemail.active_greeting is None

    # greeting changes are changes of the extension, audited as the CLI user
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery(resource_id="101")))
    assert {entry.actor for entry in page.items} == {cli_actor()}
    assert sum(entry.action is AuditAction.UPDATE for entry in page.items) >= 5


def test_a_text_file_is_refused_and_nothing_is_stored(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    cli("extensions", "add", "101")
    text = tmp_path / "notes.txt"
    text.write_text("not a greeting\n", encoding="utf-8")

    outcome = cli("voicemail", "upload", "101", str(text), "--activate")
    assert outcome.code == 2
    assert "file: not_wav" in outcome.stderr
    assert _json(cli("voicemail", "greetings", "101", "--json").stdout) == []
    assert _archived(data_dir, "greeting") == []

    missing = cli("voicemail", "upload", "101", str(tmp_path / "missing.wav"))
    assert missing.code == 2
    assert "file: cannot read" in missing.stderr
    assert cli("voicemail", "upload", "999", str(_wav_file(tmp_path / "g.wav"))).code == 3
    assert cli("voicemail", "activate", "101", "gnope").code == 3
    bad_name = cli("voicemail", "upload", "101", str(tmp_path / "g.wav"), "--name", "x" * 65)
    assert bad_name.code == 2
    assert "name:" in bad_name.stderr
    assert _archived(data_dir, "greeting") == []


def test_messages_list_get_save_and_delete(cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    cli("extensions", "add", "101")
    left = on_data_dir(
        data_dir,
        lambda s: s.voicemail.leave_message(
            "101", caller="102", caller_name="Grace", pcm=_pcm(1.5)
        ),
    )

    (message,) = _json(cli("voicemail", "messages", "101", "--json").stdout)
    assert message["id"] == left.id
    assert (message["caller"], message["caller_name"], message["folder"]) == (
        "102",
        "Grace",
        "new",
    )
    assert abs(message["duration"] - 1.5) < 0.01
    table = cli("voicemail", "messages", "101")
    assert table.code == 0, table.stderr
    assert left.id in table.stdout
    assert "Grace" in table.stdout
    assert "total: 1" in table.stdout

    target = tmp_path / "message.wav"
    got = cli("voicemail", "get", "101", left.id, "-o", str(target))
    assert got.code == 0, got.stderr
    channels, width, rate, seconds = _parsed(target.read_bytes())
    assert (channels, width, rate) == (1, 2, 8000)
    assert abs(seconds - 1.5) < 0.01

    to_stdout = CliRunner().invoke(
        app, ["voicemail", "get", "101", left.id, "-o", "-", "--data-dir", str(data_dir)]
    )
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == target.read_bytes()

    saved = cli("voicemail", "save", "101", left.id)
    assert saved.code == 0, saved.stderr
    (message,) = _json(cli("voicemail", "messages", "101", "--json").stdout)
    assert message["folder"] == "saved"

    deleted = cli("voicemail", "delete", "101", left.id)
    assert deleted.code == 0, deleted.stderr
    assert _json(cli("voicemail", "messages", "101", "--json").stdout) == []
    assert _archived(data_dir, "message") == []
    assert _audit_actors(data_dir, "voicemail_message") == [
        (AuditAction.UPDATE, cli_actor()),
        (AuditAction.DELETE, cli_actor()),
    ]


def test_an_unknown_message_or_mailbox_is_not_found(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    cli("extensions", "add", "101")
    target = tmp_path / "message.wav"
    for command in (("get", "101", "nope", "-o", str(target)), ("save", "101", "nope")):
        outcome = cli("voicemail", *command)
        assert outcome.code == 3
        assert "message 'nope' not found" in outcome.stderr
    assert cli("voicemail", "delete", "101", "nope").code == 3
    assert not target.exists()
    unknown = cli("voicemail", "messages", "999")
    assert unknown.code == 3
    assert "extension '999' not found" in unknown.stderr


def test_recordings_list_get_and_delete(cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    for number in ("101", "102", "103"):
        cli("extensions", "add", number)
    started = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

    def store(caller: str, callee: str) -> Any:
        return on_data_dir(
            data_dir,
            lambda s: s.recordings.store_recording(
                call_id=f"call-{caller}-{callee}",
                caller=caller,
                callee=callee,
                started_at=started,
                pcm=_pcm(0.5),
            ),
        )

    first, second = store("101", "102"), store("103", "102")

    everything = _json(cli("recordings", "list", "--json").stdout)
    assert {r["id"] for r in everything} == {first.id, second.id}
    only = _json(cli("recordings", "list", "--number", "101", "--json").stdout)
    assert [(r["id"], r["caller"], r["callee"]) for r in only] == [(first.id, "101", "102")]
    table = cli("recordings", "list", "--number", "103")
    assert second.id in table.stdout
    assert first.id not in table.stdout
    assert "2026-03-02 09:30" in table.stdout

    target = tmp_path / "call.wav"
    got = cli("recordings", "get", first.id, "-o", str(target))
    assert got.code == 0, got.stderr
    channels, _, rate, seconds = _parsed(target.read_bytes())
    assert (channels, rate) == (1, 8000)
    assert abs(seconds - 0.5) < 0.01

    deleted = cli("recordings", "delete", first.id)
    assert deleted.code == 0, deleted.stderr
    assert [r["id"] for r in _json(cli("recordings", "list", "--json").stdout)] == [second.id]
    assert len(_archived(data_dir, "recording")) == 1
    assert _audit_actors(data_dir, "recording") == [(AuditAction.DELETE, cli_actor())]

    assert cli("recordings", "get", first.id, "-o", str(tmp_path / "gone.wav")).code == 3
    assert not (tmp_path / "gone.wav").exists()
    missing = cli("recordings", "delete", first.id)
    assert missing.code == 3
    assert f"recording '{first.id}' not found" in missing.stderr
