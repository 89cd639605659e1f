"""The registrar's bindings: ``sip_bindings``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10

A new table only, so no SQLite batch rebuild is needed (``env.py`` renders
later alterations in batch mode anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``sip_bindings``."""
    op.create_table(
        "sip_bindings",
        sa.Column("number", sa.String(10), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("expires_at", _TIMESTAMP, nullable=False),
        sa.Column("registered_at", _TIMESTAMP, nullable=False),
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("cseq", sa.BigInteger(), nullable=False),
        sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
        sa.Column("auth_user", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("number", "contact", name="pk_sip_bindings"),
    )


def downgrade() -> None:
    """Drop ``sip_bindings``."""
    op.drop_table("sip_bindings")
