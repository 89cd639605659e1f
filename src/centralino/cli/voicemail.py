"""``centralino voicemail ...`` and ``centralino recordings ...``.

The same use-cases as the REST API's mailbox and recording endpoints
(``VoicemailService``, ``RecordingService``), on the data directory's
database and audio archive (the files ``serve`` plays and records); changes
are audited as ``cli:<user>``. This module only parses arguments and prints:
validation (a WAV that is not one, a bad name), not-found and audit are the
use-cases' own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from centralino.admin.recordings import recording_document
from centralino.admin.services import ManagementServices
from centralino.admin.voicemail import GreetingInfo, message_document
from centralino.cli.common import DataDir, actor, err, fail, out, print_json, run
from centralino.domain.voicemail import MessageFolder

__all__ = ["recordings_app", "voicemail_app"]

voicemail_app = typer.Typer(
    help="Voicemail messages and greetings of an extension.", no_args_is_help=True
)
recordings_app = typer.Typer(help="Recorded calls.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Output = Annotated[
    str, typer.Option("--output", "-o", help="The WAV file to write; '-' for stdout.")
]
_ID_WIDTH = 32  # message and recording ids: 32 hex digits, never cut in a table


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M}"


def _seconds(duration: float) -> str:
    return f"{duration:.1f} s"


def _table(*headers: str, when: str) -> Table:
    """A table whose ids are never cut to fit the terminal (the other columns wrap)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True, min_width=_ID_WIDTH)
    for header in headers:
        table.add_column(header, overflow="fold")
    table.add_column(when, overflow="fold")
    table.add_column("duration", justify="right", overflow="fold")
    return table


def _write_wav(wav: bytes, output: str) -> None:
    """Write a WAV file to ``output`` (``-``: stdout, as bytes)."""
    if output == "-":
        stream = typer.get_binary_stream("stdout")
        stream.write(wav)
        stream.flush()
        return
    path = Path(output)
    try:
        path.write_bytes(wav)
    except OSError as exc:
        raise fail(f"--output: cannot write {path}: {exc.strerror or exc}", 2) from exc
    err.print(f"wrote {escape(str(path))} ({len(wav)} bytes)", highlight=False)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"file: cannot read {path}: {exc.strerror or exc}", 2) from exc


# -- messages -----------------------------------------------------------------


@voicemail_app.command("messages")
def list_messages(number: str, as_json: AsJson = False, data_dir: DataDir = Path("data")) -> None:
    """List an extension's voicemail messages, newest first."""
    messages = run(data_dir, lambda s: s.voicemail.list_messages(number))
    if as_json:
        print_json([message_document(message) for message in messages])
        return
    table = _table("caller", "name", when="received (UTC)")
    table.add_column("folder", no_wrap=True)
    for message in messages:
        table.add_row(
            message.id,
            escape(message.caller),
            escape(message.caller_name or ""),
            _when(message.received_at),
            _seconds(message.duration),
            message.folder.value,
        )
    out.print(table)
    out.print(f"total: {len(messages)}")


@voicemail_app.command("get")
def get_message(
    number: str, message_id: str, output: Output, data_dir: DataDir = Path("data")
) -> None:
    """Write a message's audio (8 kHz mono WAV) to a file, or to stdout with `-o -`."""
    _write_wav(run(data_dir, lambda s: s.voicemail.message_wav(number, message_id)), output)


@voicemail_app.command("save")
def save_message(number: str, message_id: str, data_dir: DataDir = Path("data")) -> None:
    """Move a message to the saved folder."""
    run(
        data_dir,
        lambda s: s.voicemail.move_message(actor(), number, message_id, MessageFolder.SAVED),
    )
    out.print(f"saved message {message_id} of {number}", markup=False, highlight=False)


@voicemail_app.command("delete")
def delete_message(number: str, message_id: str, data_dir: DataDir = Path("data")) -> None:
    """Delete a message and its audio."""
    run(data_dir, lambda s: s.voicemail.remove_message(actor(), number, message_id))
    out.print(f"deleted message {message_id} of {number}", markup=False, highlight=False)


# -- greetings ----------------------------------------------------------------


def _greeting_document(greeting: GreetingInfo) -> dict[str, Any]:
    return {
        "id": greeting.id,
        "name": greeting.name,
        "duration": greeting.duration,
        "active": greeting.active,
    }


def _print_greeting(verb: str, greeting: GreetingInfo) -> None:
    active = ", active" if greeting.active else ""
    line = (
        f"{verb} greeting {greeting.id} {greeting.name!r} ({_seconds(greeting.duration)}{active})"
    )
    out.print(line, markup=False, highlight=False)


@voicemail_app.command("greetings")
def list_greetings(number: str, as_json: AsJson = False, data_dir: DataDir = Path("data")) -> None:
    """List an extension's greetings and which one callers hear."""
    greetings = run(data_dir, lambda s: s.voicemail.greetings(number))
    if as_json:
        print_json([_greeting_document(greeting) for greeting in greetings])
        return
    table = Table("id", "name", "duration", "active")
    for greeting in greetings:
        table.add_row(
            greeting.id,
            escape(greeting.name),
            _seconds(greeting.duration),
            "yes" if greeting.active else "",
        )
    out.print(table)
    if not any(greeting.active for greeting in greetings):
        out.print("no active greeting: callers hear the default prompt")


@voicemail_app.command("upload")
def upload_greeting(
    number: str,
    file: Annotated[Path, typer.Argument(help="A WAV file (converted to 8 kHz mono).")],
    name: Annotated[str | None, typer.Option(help="The greeting's name.")] = None,
    activate: Annotated[
        bool, typer.Option("--activate", help="Make it the greeting callers hear.")
    ] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Add a greeting from a WAV file (at most 10 MB and 5 minutes)."""
    data = _read_file(file)

    async def upload(services: ManagementServices) -> GreetingInfo:
        who = actor()
        greeting = await services.voicemail.upload_greeting(who, number, name, data)
        if activate:
            greeting = await services.voicemail.update_greeting(
                who, number, greeting.id, {"active": True}
            )
        return greeting

    _print_greeting("uploaded", run(data_dir, upload))


@voicemail_app.command("rename")
def rename_greeting(
    number: str, greeting_id: str, name: str, data_dir: DataDir = Path("data")
) -> None:
    """Rename a greeting."""
    greeting = run(
        data_dir,
        lambda s: s.voicemail.update_greeting(actor(), number, greeting_id, {"name": name}),
    )
    _print_greeting("renamed", greeting)


@voicemail_app.command("activate")
def activate_greeting(number: str, greeting_id: str, data_dir: DataDir = Path("data")) -> None:
    """Make a greeting the one callers hear."""
    greeting = run(
        data_dir,
        lambda s: s.voicemail.update_greeting(actor(), number, greeting_id, {"active": True}),
    )
    _print_greeting("activated", greeting)


@voicemail_app.command("remove-greeting")
def remove_greeting(number: str, greeting_id: str, data_dir: DataDir = Path("data")) -> None:
    """Delete a greeting and its audio (deleting the active one leaves the default prompt)."""
    run(data_dir, lambda s: s.voicemail.delete_greeting(actor(), number, greeting_id))
    out.print(f"deleted greeting {greeting_id} of {number}", markup=False, highlight=False)


# -- recordings ---------------------------------------------------------------


@recordings_app.command("list")
def list_recordings(
    number: Annotated[
        str | None, typer.Option(help="Only calls where this number is caller or callee.")
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """List recorded calls, newest first."""
    recordings = run(data_dir, lambda s: s.recordings.list(number))
    if as_json:
        print_json([recording_document(recording) for recording in recordings])
        return
    table = _table("caller", "callee", when="started (UTC)")
    for recording in recordings:
        table.add_row(
            recording.id,
            escape(recording.caller),
            escape(recording.callee),
            _when(recording.started_at),
            _seconds(recording.duration),
        )
    out.print(table)
    out.print(f"total: {len(recordings)}")


@recordings_app.command("get")
def get_recording(recording_id: str, output: Output, data_dir: DataDir = Path("data")) -> None:
    """Write a recording's audio (8 kHz mono WAV) to a file, or to stdout with `-o -`."""
    _write_wav(run(data_dir, lambda s: s.recordings.audio(recording_id)), output)


@recordings_app.command("delete")
def delete_recording(recording_id: str, data_dir: DataDir = Path("data")) -> None:
    """Delete a recording and its audio."""
    run(data_dir, lambda s: s.recordings.delete(actor(), recording_id))
    out.print(f"deleted recording {recording_id}", markup=False, highlight=False)
