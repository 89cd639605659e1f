"""``centralino trunks ...``: SIP trunks (the provider accounts).

The same use-cases as ``/api/v1/trunks`` (``TrunkService``) on the data
directory's database, audited as ``cli:<user>``; every change reaches the
running engines through the change feed. Every field has an option; only
the options given are sent, so ``set`` changes just those (a JSON merge
patch, as ``PATCH`` does). A list option is repeated or comma-separated and
replaces the whole list (an empty value empties it); an empty value of any
other option returns the field to its default.

The registration password is never printed (``password_set`` is). Give it
with ``--password-stdin`` (one line on standard input) or let the command
prompt for it (``--ask-password``, and ``add --register`` without a password);
``--password`` also works but leaves it in the shell history and, while the
command runs, in the process list.

Exit codes as every command: 0 done, 2 bad input (the message names the
field), 3 not found, 4 conflict (a DID of another trunk, a trunk in use).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from centralino.admin.trunks import trunk_document
from centralino.cli.common import DataDir, actor, exit_codes, out, print_json, run
from centralino.domain.errors import InvalidInput

__all__ = ["list_option", "parse_destination", "trunks_app"]

trunks_app = typer.Typer(
    help="SIP trunks: calls to and from the outside world.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_DESTINATION_KINDS = {
    "extension": "extension",
    "voicemail": "extension_voicemail",
    "extension_voicemail": "extension_voicemail",
    "number": "number",
}


def list_option(values: list[str] | None) -> list[str] | None:
    """A repeated or comma-separated option as a list (None when not given)."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def parse_destination(text: str) -> dict[str, Any] | None:
    """A destination written ``extension:101``, ``voicemail:101``, ``number:+39...``,
    ``end_call`` or as JSON; '' is none.

    Raises:
        InvalidInput: not one of these forms.
    """
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput.single("default_destination", f"not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InvalidInput.single("default_destination", "must be a JSON object")
        return document
    if text == "end_call":
        return {"type": "end_call"}
    kind, separator, number = text.partition(":")
    if not separator or kind not in _DESTINATION_KINDS:
        reason = "write extension:NUMBER, voicemail:NUMBER, number:PHONE, end_call or JSON"
        raise InvalidInput.single("default_destination", reason)
    return {"type": _DESTINATION_KINDS[kind], "number": number.strip()}


def _password(given: str | None, from_stdin: bool, ask: bool) -> str | None:
    """The password from exactly one source, or None when none is asked for."""
    if sum((given is not None, from_stdin, ask)) > 1:
        raise InvalidInput.single(
            "registration.password", "give one of --password, --password-stdin, --ask-password"
        )
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput.single("registration.password", "standard input gave no password")
        return line
    if ask:
        text: str = typer.prompt("Trunk password", hide_input=True, confirmation_prompt=True)
        return text
    return given


def _given(**values: Any) -> dict[str, Any]:
    """The options given; '' (and an empty destination) become null: back to the default."""
    return {
        name: None if value == "" else value for name, value in values.items() if value is not None
    }


Host = Annotated[str | None, typer.Option(help="The provider's SIP server (name or address).")]
Port = Annotated[int | None, typer.Option(help="Its SIP port (default 5060).")]
Transport = Annotated[str | None, typer.Option(help="udp or tcp (default udp).")]
Register = Annotated[
    bool | None,
    typer.Option("--register/--no-register", help="Register to the provider (needs a username)."),
]
Username = Annotated[str | None, typer.Option(help="The account's user name (address of record).")]
AuthUser = Annotated[str | None, typer.Option(help="The digest user name, when it differs.")]
Expires = Annotated[int | None, typer.Option(help="Registration lifetime asked, seconds.")]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="The registration password. Risky: it stays in the shell history and shows in "
        "the process list; prefer --password-stdin or --ask-password.",
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
AskPassword = Annotated[bool, typer.Option("--ask-password", help="Prompt for the password.")]
AllowedAddresses = Annotated[
    list[str] | None,
    typer.Option("--allowed-address", help="A network (CIDR) the provider calls from; repeat."),
]
Dids = Annotated[
    list[str] | None, typer.Option("--did", help="An E.164 number routed to us; repeat.")
]
DidSource = Annotated[
    str | None, typer.Option(help="Where the provider puts the DID: request_uri or to.")
]
CallerId = Annotated[str | None, typer.Option(help="The trunk's default outbound caller ID.")]
PresentForwarded = Annotated[
    bool | None,
    typer.Option(
        "--present-forwarded-caller/--no-present-forwarded-caller",
        help="A call forwarded out shows its original caller (else the extension's ID).",
    ),
]
NumberFormat = Annotated[str | None, typer.Option(help="e164 or national.")]
NationalPrefix = Annotated[str | None, typer.Option(help="The national prefix (e.g. 0).")]
CountryCode = Annotated[str | None, typer.Option(help="The country code (e.g. 39), for national.")]
MaxCalls = Annotated[int | None, typer.Option(help="Calls at once through the trunk.")]
DefaultDestination = Annotated[
    str | None,
    typer.Option(
        help="Where a DID no extension owns goes: extension:101, voicemail:101, "
        "number:+39..., end_call or JSON."
    ),
]
Enabled = Annotated[bool | None, typer.Option("--enabled/--disabled", help="Use the trunk.")]


def _document(
    *,
    host: str | None,
    port: int | None,
    transport: str | None,
    register: bool | None,
    username: str | None,
    auth_user: str | None,
    expires: int | None,
    password: str | None,
    allowed_addresses: list[str] | None,
    dids: list[str] | None,
    did_source: str | None,
    caller_id: str | None,
    number_format: str | None,
    national_prefix: str | None,
    country_code: str | None,
    max_calls: int | None,
    default_destination: str | None,
    enabled: bool | None,
    present_forwarded_caller: bool | None = None,
) -> dict[str, Any]:
    registration = _given(enabled=register, username=username, auth_user=auth_user, expires=expires)
    if password is not None:
        registration["password"] = password
    document = _given(
        host=host,
        port=port,
        transport=transport,
        allowed_addresses=list_option(allowed_addresses),
        dids=list_option(dids),
        did_source=did_source,
        caller_id=caller_id,
        present_forwarded_caller=present_forwarded_caller,
        number_format=number_format,
        national_prefix=national_prefix,
        country_code=country_code,
        max_calls=max_calls,
        enabled=enabled,
    )
    if default_destination is not None:
        document["default_destination"] = parse_destination(default_destination)
    if registration:
        document["registration"] = registration
    return document


@trunks_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The trunk's name (lower case, e.g. voip).")],
    host: Annotated[str, typer.Option(help="The provider's SIP server (name or address).")],
    port: Port = None,
    transport: Transport = None,
    register: Register = None,
    username: Username = None,
    auth_user: AuthUser = None,
    expires: Expires = None,
    password: Password = None,
    password_stdin: PasswordStdin = False,
    ask_password: AskPassword = False,
    allowed_address: AllowedAddresses = None,
    did: Dids = None,
    did_source: DidSource = None,
    caller_id: CallerId = None,
    present_forwarded_caller: PresentForwarded = None,
    number_format: NumberFormat = None,
    national_prefix: NationalPrefix = None,
    country_code: CountryCode = None,
    max_calls: MaxCalls = None,
    default_destination: DefaultDestination = None,
    enabled: Enabled = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Create a trunk, e.g. `add voip --host sip.example.net --did +390212345678`.

    With `--register --username U` the password is asked for (or read by
    `--password-stdin`).
    """
    with exit_codes():
        ask = ask_password or (bool(register) and password is None and not password_stdin)
        secret = _password(password, password_stdin, ask)
        document = {"name": name} | _document(
            host=host,
            port=port,
            transport=transport,
            register=register,
            username=username,
            auth_user=auth_user,
            expires=expires,
            password=secret,
            allowed_addresses=allowed_address,
            dids=did,
            did_source=did_source,
            caller_id=caller_id,
            present_forwarded_caller=present_forwarded_caller,
            number_format=number_format,
            national_prefix=national_prefix,
            country_code=country_code,
            max_calls=max_calls,
            default_destination=default_destination,
            enabled=enabled,
        )
    created = run(data_dir, lambda s: s.trunks.create(actor(), document))
    print_json(trunk_document(created))


@trunks_app.command("set")
def set_fields(
    name: Annotated[str, typer.Argument(help="The trunk to change.")],
    host: Host = None,
    port: Port = None,
    transport: Transport = None,
    register: Register = None,
    username: Username = None,
    auth_user: AuthUser = None,
    expires: Expires = None,
    password: Password = None,
    password_stdin: PasswordStdin = False,
    ask_password: AskPassword = False,
    allowed_address: AllowedAddresses = None,
    did: Dids = None,
    did_source: DidSource = None,
    caller_id: CallerId = None,
    present_forwarded_caller: PresentForwarded = None,
    number_format: NumberFormat = None,
    national_prefix: NationalPrefix = None,
    country_code: CountryCode = None,
    max_calls: MaxCalls = None,
    default_destination: DefaultDestination = None,
    enabled: Enabled = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Change the fields given (the password is kept unless one is given)."""
    with exit_codes():
        secret = _password(password, password_stdin, ask_password)
        patch = _document(
            host=host,
            port=port,
            transport=transport,
            register=register,
            username=username,
            auth_user=auth_user,
            expires=expires,
            password=secret,
            allowed_addresses=allowed_address,
            dids=did,
            did_source=did_source,
            caller_id=caller_id,
            present_forwarded_caller=present_forwarded_caller,
            number_format=number_format,
            national_prefix=national_prefix,
            country_code=country_code,
            max_calls=max_calls,
            default_destination=default_destination,
            enabled=enabled,
        )
    changed = run(data_dir, lambda s: s.trunks.update(actor(), name, patch))
    print_json(trunk_document(changed))


@trunks_app.command("list")
def list_trunks(as_json: AsJson = False, data_dir: DataDir = Path("data")) -> None:
    """List the trunks."""
    found = run(data_dir, lambda s: s.trunks.all(actor()))
    if as_json:
        print_json([trunk_document(trunk) for trunk in found])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("name", "server", "registers as", "DIDs", "enabled"):
        table.add_column(header, overflow="fold")
    for trunk in found:
        registration = trunk.registration
        table.add_row(
            escape(trunk.name),
            escape(f"{trunk.host}:{trunk.port}/{trunk.transport.value}"),
            escape(registration.username or "") if registration.enabled else "(no registration)",
            str(len(trunk.dids)),
            "yes" if trunk.enabled else "no",
        )
    out.print(table)
    out.print(f"{len(found)} trunk(s)", highlight=False)


@trunks_app.command("show")
def show(name: str, data_dir: DataDir = Path("data")) -> None:
    """Print one trunk as JSON (never its password)."""
    trunk = run(data_dir, lambda s: s.trunks.get(actor(), name))
    print_json(trunk_document(trunk))


@trunks_app.command("status")
def status(name: str, data_dir: DataDir = Path("data")) -> None:
    """Print the trunk's health as JSON.

    The CLI runs no call engine: it reports what is stored (``known`` false);
    ``GET /api/v1/trunks/NAME/status`` on a running node has the engine's view.
    """
    report = run(data_dir, lambda s: s.trunks.status(actor(), name))
    print_json(report.model_dump(mode="json"))


@trunks_app.command("delete")
def delete(name: str, data_dir: DataDir = Path("data")) -> None:
    """Delete a trunk that no outbound rule uses."""
    run(data_dir, lambda s: s.trunks.delete(actor(), name))
    out.print(f"deleted {escape(name)}", highlight=False)
