"""Voicemail messages and call recordings: ``voicemail_messages``, ``call_recordings``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

New tables only; their audio lives in files, not in the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``voicemail_messages`` and ``call_recordings``."""
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("mailbox", sa.String(10), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("received_at", _TIMESTAMP, nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("folder", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_voicemail_messages"),
    )
    op.create_index(
        "ix_voicemail_messages_mailbox_received_at",
        "voicemail_messages",
        ["mailbox", "received_at"],
    )
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("callee", sa.String(64), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_recordings"),
    )
    op.create_index("ix_call_recordings_started_at", "call_recordings", ["started_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("call_recordings")
    op.drop_table("voicemail_messages")
