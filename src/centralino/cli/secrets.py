"""``centralino secrets rotate``: encrypt the stored secrets with a new key.

The SMTP password and the integrations' URLs are stored encrypted with the
keys of ``DATA_DIR/secrets.key`` (``storage/secrets.py``). Rotation puts a
new key first in that file, encrypts every stored secret again with it, and
then drops the old keys. Stop every ``serve`` process first; with several
nodes on one database, copy the new file to each of them before starting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.markup import escape

from centralino.cli.common import DataDir, exit_codes, out
from centralino.config import Config

__all__ = ["secrets_app"]

secrets_app = typer.Typer(help="Manage the key that encrypts stored secrets.", no_args_is_help=True)


@secrets_app.command("rotate")
def rotate(data_dir: DataDir = Path("data")) -> None:
    """Encrypt every stored secret with a new key (stop the PBX first)."""
    from centralino.app import rotate_secrets

    config = Config(data_dir=data_dir)
    with exit_codes():
        rewritten = asyncio.run(rotate_secrets(config))
    path = escape(str(config.secrets_key_file))
    out.print(f"new key in {path}; {rewritten} stored documents encrypted again", highlight=False)
    out.print("Copy this file to every node sharing the database.", highlight=False)
