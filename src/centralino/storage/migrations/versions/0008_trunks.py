"""SIP trunks and outbound rules: ``trunks``, ``outbound_rules`` (issue 12).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08

New tables only (no existing table changes, so SQLite needs no batch mode).
Both keep the whole model as a JSON document keyed by name, as groups do;
``outbound_rules`` also copies its ``priority`` into a column, indexed with
the name: the order in which rules are tried.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    """Create ``trunks`` and ``outbound_rules``."""
    op.create_table(
        "trunks",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_trunks"),
    )
    op.create_table(
        "outbound_rules",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_outbound_rules"),
    )
    op.create_index("ix_outbound_rules_priority_name", "outbound_rules", ["priority", "name"])


def downgrade() -> None:
    """Drop ``outbound_rules`` and ``trunks``."""
    op.drop_index("ix_outbound_rules_priority_name", table_name="outbound_rules")
    op.drop_table("outbound_rules")
    op.drop_table("trunks")
