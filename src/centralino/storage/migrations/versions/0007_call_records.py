"""Call records: ``call_records``, one row per finished call (issue 12).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

A new table and its indexes only (no existing table changes, so SQLite needs
no batch mode). Each filter's index ends with the sort key ``(started_at,
id)``, so a page of the newest matches is read in order from the index;
sorted by duration, ``(duration, id)`` and each equality filter's
``(filter, duration, id)`` do the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)

_INDEXES = (
    ("started_at", "id"),
    ("caller", "started_at", "id"),
    ("callee", "started_at", "id"),
    ("answered_by", "started_at", "id"),
    ("trunk", "started_at", "id"),
    ("result", "started_at", "id"),
    ("duration", "id"),
    ("result", "duration", "id"),
    ("trunk", "duration", "id"),
    ("direction", "duration", "id"),
)


def upgrade() -> None:
    """Create ``call_records`` and its indexes."""
    op.create_table(
        "call_records",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("answered_at", _TIMESTAMP, nullable=True),
        sa.Column("ended_at", _TIMESTAMP, nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("callee", sa.String(64), nullable=False),
        sa.Column("did", sa.String(64), nullable=True),
        sa.Column("trunk", sa.String(64), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("result", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("routing_summary", sa.String(500), nullable=False),
        sa.Column("recording_id", sa.String(40), nullable=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_records"),
    )
    for columns in _INDEXES:
        op.create_index(f"ix_call_records_{'_'.join(columns)}", "call_records", list(columns))


def downgrade() -> None:
    """Drop ``call_records`` (its indexes go with it)."""
    op.drop_table("call_records")
