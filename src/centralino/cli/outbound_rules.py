"""``centralino outbound-rules ...``: which trunks carry a dialled number.

The same use-cases as ``/api/v1/outbound-rules`` (``OutboundRuleService``)
on the data directory's database, audited as ``cli:<user>``. Options follow
``centralino trunks``: only those given are sent; a list option (``--trunk``,
``--caller``, ``--group``) is repeated or comma-separated and replaces the
whole list; an empty value returns a field to its default. Rules are listed
in the order they are tried: priority, then name.

Exit codes: 0 done, 2 bad input (a trunk, extension or group that does not
exist is named as ``trunks.N``, ``callers.N``, ``groups.N``), 3 not found,
4 conflict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from centralino.cli.common import DataDir, actor, out, print_json, run
from centralino.cli.trunks import list_option
from centralino.domain.trunks import OutboundRule

__all__ = ["outbound_rules_app"]

outbound_rules_app = typer.Typer(
    help="Outbound rules: which trunks carry a dialled number.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Trunks = Annotated[
    list[str] | None, typer.Option("--trunk", help="A trunk to try, in order; repeat.")
]
Priority = Annotated[int | None, typer.Option(help="Lower is tried first (default 100).")]
Prefix = Annotated[str | None, typer.Option(help="The dialled number starts with it.")]
MinLength = Annotated[int | None, typer.Option(help="The dialled number has at least this many.")]
MaxLength = Annotated[int | None, typer.Option(help="... and at most this many digits.")]
Callers = Annotated[
    list[str] | None, typer.Option("--caller", help="Only for this extension; repeat.")
]
Groups = Annotated[list[str] | None, typer.Option("--group", help="Only for this group; repeat.")]
Strip = Annotated[int | None, typer.Option(help="Digits removed from the front.")]
Prepend = Annotated[str | None, typer.Option(help="Digits put in front (after strip).")]
CallerId = Annotated[str | None, typer.Option(help="The caller ID of calls by this rule.")]
Enabled = Annotated[bool | None, typer.Option("--enabled/--disabled", help="Use the rule.")]


def _document(**values: Any) -> dict[str, Any]:
    """The options given; '' becomes null (back to the default)."""
    for name in ("trunks", "callers", "groups"):
        values[name] = list_option(values[name])
    return {
        name: None if value == "" else value for name, value in values.items() if value is not None
    }


def _lengths(rule: OutboundRule) -> str:
    if rule.min_length is None and rule.max_length is None:
        return ""
    return f"({rule.min_length or 1}-{rule.max_length or ''} digits)"


@outbound_rules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The rule's name (lower case, e.g. mobile).")],
    trunk: Trunks = None,
    priority: Priority = None,
    prefix: Prefix = None,
    min_length: MinLength = None,
    max_length: MaxLength = None,
    caller: Callers = None,
    group: Groups = None,
    strip: Strip = None,
    prepend: Prepend = None,
    caller_id: CallerId = None,
    enabled: Enabled = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Create a rule, e.g. `add mobile --prefix 3 --trunk voip --trunk backup`."""
    document = {"name": name} | _document(
        trunks=trunk,
        priority=priority,
        prefix=prefix,
        min_length=min_length,
        max_length=max_length,
        callers=caller,
        groups=group,
        strip=strip,
        prepend=prepend,
        caller_id=caller_id,
        enabled=enabled,
    )
    created = run(data_dir, lambda s: s.outbound_rules.create(actor(), document))
    print_json(created.model_dump(mode="json"))


@outbound_rules_app.command("set")
def set_fields(
    name: Annotated[str, typer.Argument(help="The rule to change.")],
    trunk: Trunks = None,
    priority: Priority = None,
    prefix: Prefix = None,
    min_length: MinLength = None,
    max_length: MaxLength = None,
    caller: Callers = None,
    group: Groups = None,
    strip: Strip = None,
    prepend: Prepend = None,
    caller_id: CallerId = None,
    enabled: Enabled = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Change the fields given."""
    patch = _document(
        trunks=trunk,
        priority=priority,
        prefix=prefix,
        min_length=min_length,
        max_length=max_length,
        callers=caller,
        groups=group,
        strip=strip,
        prepend=prepend,
        caller_id=caller_id,
        enabled=enabled,
    )
    changed = run(data_dir, lambda s: s.outbound_rules.update(actor(), name, patch))
    print_json(changed.model_dump(mode="json"))


@outbound_rules_app.command("list")
def list_rules(as_json: AsJson = False, data_dir: DataDir = Path("data")) -> None:
    """List the rules in the order they are tried."""
    found = run(data_dir, lambda s: s.outbound_rules.all(actor()))
    if as_json:
        print_json([rule.model_dump(mode="json") for rule in found])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("prio", "name", "dialled", "rewrite", "trunks", "for"):
        table.add_column(header, overflow="fold")
    for rule in found:
        callers = [*rule.callers, *rule.groups]
        name = rule.name if rule.enabled else f"{rule.name} (off)"
        table.add_row(
            str(rule.priority),
            escape(name),
            escape(f"{rule.prefix or '*'} {_lengths(rule)}"),
            escape(f"-{rule.strip} +{rule.prepend}") if rule.strip or rule.prepend else "",
            escape(", ".join(rule.trunks)),
            escape(", ".join(callers)) if callers else "everybody",
        )
    out.print(table)
    out.print(f"{len(found)} rule(s)", highlight=False)


@outbound_rules_app.command("show")
def show(name: str, data_dir: DataDir = Path("data")) -> None:
    """Print one rule as JSON."""
    rule = run(data_dir, lambda s: s.outbound_rules.get(actor(), name))
    print_json(rule.model_dump(mode="json"))


@outbound_rules_app.command("delete")
def delete(name: str, data_dir: DataDir = Path("data")) -> None:
    """Delete a rule."""
    run(data_dir, lambda s: s.outbound_rules.delete(actor(), name))
    out.print(f"deleted {escape(name)}", highlight=False)
