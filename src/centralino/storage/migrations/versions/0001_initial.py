"""Initial schema: extensions and their unique keys, groups, office hours,
settings, accounts and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIMESTAMP = sa.DateTime(timezone=True)
_IDENTITY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _create_extensions() -> None:
    op.create_table(
        "extensions",
        sa.Column("number", sa.String(10), nullable=False),
        sa.Column("first_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("last_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("email", sa.String(255), nullable=False, server_default=""),
        sa.Column("mobile", sa.String(32), nullable=False, server_default=""),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_extensions"),
    )
    op.create_index(
        "ix_extensions_search",
        "extensions",
        ["number", "first_name", "last_name", "email", "mobile"],
    )
    op.create_table(
        "extension_keys",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("number", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_extension_keys"),
        sa.ForeignKeyConstraint(
            ["number"],
            ["extensions.number"],
            name="fk_extension_keys_number_extensions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_extension_keys_number", "extension_keys", ["number"])


def _create_documents() -> None:
    for table, key, length in (
        ("groups", "name", 64),
        ("office_hours", "name", 32),
        ("settings", "section", 32),
    ):
        op.create_table(
            table,
            sa.Column(key, sa.String(length), nullable=False),
            sa.Column("data", _JSON, nullable=False),
            sa.PrimaryKeyConstraint(key, name=f"pk_{table}"),
        )


def _create_accounts_and_audit() -> None:
    op.create_table(
        "accounts",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_accounts"),
    )
    op.create_table(
        "audit",
        sa.Column("id", _IDENTITY, autoincrement=True, nullable=False),
        sa.Column("at", _TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("resource", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(255), nullable=False),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_resource_resource_id", "audit", ["resource", "resource_id"])


def upgrade() -> None:
    """Create every table of the first release."""
    _create_extensions()
    _create_documents()
    _create_accounts_and_audit()


def downgrade() -> None:
    """Drop every table of the first release."""
    for table in (
        "audit",
        "accounts",
        "settings",
        "office_hours",
        "groups",
        "extension_keys",
        "extensions",
    ):
        op.drop_table(table)
