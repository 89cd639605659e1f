"""The change feed: ``changes`` (an outbox), ``feed_cursors``, ``feed_horizon``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

New tables only. Every committed change writes its domain events to
``changes`` in its own transaction; every node follows them from its cursor.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)
_DOCUMENT = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_IDENTITY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the change feed's tables."""
    op.create_table(
        "changes",
        sa.Column("id", _IDENTITY, autoincrement=True, nullable=False),
        sa.Column("at", _TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", _DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_changes_at", "changes", ["at"])
    op.create_table(
        "feed_cursors",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("node", name="pk_feed_cursors"),
    )
    op.create_table(
        "feed_horizon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feed_horizon"),
    )


def downgrade() -> None:
    """Drop the change feed's tables."""
    op.drop_table("feed_horizon")
    op.drop_table("feed_cursors")
    op.drop_index("ix_changes_at", table_name="changes")
    op.drop_table("changes")
