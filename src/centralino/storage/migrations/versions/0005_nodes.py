"""Several nodes on one database: ``nodes``, ``live_calls``, ``sip_bindings.node``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

``sip_bindings`` gains the node holding each registration and a primary key
(node, number, contact): each node loads and writes only its own. Bindings
stored before this revision get the node ``''``; the first node that starts
takes them over (``SqlLocationStore.all``), so a single-node PBX keeps its
registrations across the upgrade. On SQLite the table is rebuilt (batch mode).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``sip_bindings.node`` to its primary key; create ``nodes`` and ``live_calls``."""
    with op.batch_alter_table("sip_bindings") as batch:
        batch.add_column(sa.Column("node", sa.String(64), nullable=False, server_default=""))
        batch.drop_constraint("pk_sip_bindings", type_="primary")
        batch.create_primary_key("pk_sip_bindings", ["node", "number", "contact"])
    with op.batch_alter_table("sip_bindings") as batch:
        batch.alter_column("node", existing_type=sa.String(64), server_default=None)
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sip_address", sa.String(255), nullable=False),
        sa.Column("http_address", sa.String(255), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("seen_at", _TIMESTAMP, nullable=False),
        sa.Column("stopped_at", _TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_nodes"),
    )
    op.create_table(
        "live_calls",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("callee", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("answered_at", _TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("node", "id", name="pk_live_calls"),
    )


def downgrade() -> None:
    """Drop ``live_calls`` and ``nodes``; keep one node's bindings per number and contact."""
    op.drop_table("live_calls")
    op.drop_table("nodes")
    op.execute(
        "DELETE FROM sip_bindings WHERE EXISTS (SELECT 1 FROM sip_bindings AS other"
        " WHERE other.number = sip_bindings.number AND other.contact = sip_bindings.contact"
        " AND other.node < sip_bindings.node)"
    )
    with op.batch_alter_table("sip_bindings") as batch:
        batch.drop_constraint("pk_sip_bindings", type_="primary")
        batch.create_primary_key("pk_sip_bindings", ["number", "contact"])
        batch.drop_column("node")
