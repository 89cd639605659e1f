"""Blocks after failed authentications, shared: ``security_blocks``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

A new table only: each node records the blocks in force in its throttle
(``user_name`` '' for a whole address), so that every node's API and the CLI
list them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``security_blocks``."""
    op.create_table(
        "security_blocks",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("node", "address", "user_name", name="pk_security_blocks"),
    )


def downgrade() -> None:
    """Drop ``security_blocks``."""
    op.drop_table("security_blocks")
