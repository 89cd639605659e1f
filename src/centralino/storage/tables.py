"""The database schema: SQLAlchemy Core tables on one ``MetaData``.

Every resource is stored whole as JSON (``data``), the model's own dump, so a
new field in the domain needs no migration. Only what the database must
search, sort or keep unique is copied into columns: the extension's names and
contact fields, and one ``extension_keys`` row per unique value (auth IDs and
SIP IDs, DIDs, device MACs, meeting rooms), whose primary key makes the
database itself refuse a value held twice.

The migrations in ``migrations/versions`` create these same tables explicitly;
``tests/storage`` checks that the two agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "NAMING_CONVENTION",
    "SEARCHED_COLUMNS",
    "UTC_DATETIME",
    "JsonDocument",
    "UtcDateTime",
    "accounts",
    "audit",
    "call_recordings",
    "call_records",
    "changes",
    "extension_keys",
    "extensions",
    "feed_cursors",
    "feed_horizon",
    "groups",
    "live_calls",
    "metadata",
    "nodes",
    "office_hours",
    "outbound_rules",
    "security_blocks",
    "settings",
    "sip_bindings",
    "trunks",
    "voicemail_messages",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names are fixed so that migrations and error messages can name them."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware timestamp, stored as UTC and always returned aware in UTC.

    SQLite keeps no offset and hands back naive values: they are UTC by
    construction, so UTC is attached again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC; naive datetimes are refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return the stored timestamp as an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"unexpected timestamp value {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


UTC_DATETIME = UtcDateTime()

JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON document column type: JSONB on PostgreSQL, JSON text elsewhere."""

_Identity = BigInteger().with_variant(Integer(), "sqlite")

extensions = Table(
    "extensions",
    metadata,
    Column("number", String(10), primary_key=True),
    Column("first_name", String(64), nullable=False, server_default=""),
    Column("last_name", String(64), nullable=False, server_default=""),
    Column("email", String(255), nullable=False, server_default=""),
    Column("mobile", String(32), nullable=False, server_default=""),
    Column("data", JsonDocument, nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
)
"""Searchable copies of the extension's fields; absent email/mobile are ''."""

SEARCHED_COLUMNS = ("number", "first_name", "last_name", "email", "mobile")
"""Columns the extension search looks into, in the order of ``ix_extensions_search``."""

# Covers search and sort: SQLite scans this small index instead of the JSON-laden
# rows, then sorts the matches. At 10,000 extensions that beats per-column sort
# indexes, which make the planner walk the table row by row for rare matches.
Index("ix_extensions_search", *(extensions.c[name] for name in SEARCHED_COLUMNS))

extension_keys = Table(
    "extension_keys",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column(
        "number",
        String(10),
        ForeignKey("extensions.number", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

groups = Table(
    "groups",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("data", JsonDocument, nullable=False),
)

office_hours = Table(
    "office_hours",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("data", JsonDocument, nullable=False),
)

trunks = Table(
    "trunks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("data", JsonDocument, nullable=False),
)
"""SIP trunks; the registration ``password`` in ``data`` is sealed at rest (secrets.py)."""

outbound_rules = Table(
    "outbound_rules",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("priority", Integer, nullable=False),
    Column("data", JsonDocument, nullable=False),
    Index("ix_outbound_rules_priority_name", "priority", "name"),
)
"""Outbound rules; ``priority`` is copied out of ``data`` to list them in the order tried."""

settings = Table(
    "settings",
    metadata,
    Column("section", String(32), primary_key=True),
    Column("data", JsonDocument, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", _Identity, primary_key=True, autoincrement=True),
    Column("at", UTC_DATETIME, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("resource", String(32), nullable=False),
    Column("resource_id", String(255), nullable=False),
    Column("before", JsonDocument, nullable=True),
    Column("after", JsonDocument, nullable=True),
    Index("ix_audit_resource_resource_id", "resource", "resource_id"),
)

sip_bindings = Table(
    "sip_bindings",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("number", String(10), primary_key=True),
    Column("contact", Text, primary_key=True),
    Column("transport", String(8), nullable=False),
    Column("host", String(64), nullable=False),
    Column("port", Integer, nullable=False),
    Column("expires_at", UTC_DATETIME, nullable=False),
    Column("registered_at", UTC_DATETIME, nullable=False),
    Column("call_id", Text, nullable=False),
    Column("cseq", BigInteger, nullable=False),
    Column("user_agent", String(255), nullable=False, server_default=""),
    Column("auth_user", String(64), nullable=False, server_default=""),
)
"""The registrar's bindings, per node (no foreign key: the registrar ends them itself)."""

nodes = Table(
    "nodes",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("sip_address", String(255), nullable=False),
    Column("http_address", String(255), nullable=False),
    Column("started_at", UTC_DATETIME, nullable=False),
    Column("seen_at", UTC_DATETIME, nullable=False),
    Column("stopped_at", UTC_DATETIME, nullable=True),
)
"""The processes sharing this database, with their heartbeat (``seen_at``)."""

live_calls = Table(
    "live_calls",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("caller", String(64), nullable=False),
    Column("callee", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UTC_DATETIME, nullable=False),
    Column("answered_at", UTC_DATETIME, nullable=True),
)
"""Each node's calls in progress as it last published them (its own are in memory)."""

security_blocks = Table(
    "security_blocks",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("user_name", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UTC_DATETIME, nullable=False),
)
"""Each node's blocks after failed authentications (``user_name`` '': the address)."""

voicemail_messages = Table(
    "voicemail_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("mailbox", String(10), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("caller_name", String(128), nullable=True),
    Column("received_at", UTC_DATETIME, nullable=False),
    Column("duration", Float, nullable=False),
    Column("folder", String(8), nullable=False),
    Index("ix_voicemail_messages_mailbox_received_at", "mailbox", "received_at"),
)
"""Voicemail messages' records; the audio is a file (``AudioArchive``).

No foreign key to ``extensions``: deleting an extension deletes its messages
and their files in the same use-case, which the database alone could not do.
"""

call_recordings = Table(
    "call_recordings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("call_id", String(255), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("callee", String(64), nullable=False),
    Column("started_at", UTC_DATETIME, nullable=False, index=True),
    Column("duration", Float, nullable=False),
)
"""Recorded calls' records; the audio is a file (``AudioArchive``)."""

call_records = Table(
    "call_records",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("started_at", UTC_DATETIME, nullable=False),
    Column("answered_at", UTC_DATETIME, nullable=True),
    Column("ended_at", UTC_DATETIME, nullable=False),
    Column("duration", Integer, nullable=False),
    Column("billable", Integer, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("caller_name", String(128), nullable=True),
    Column("callee", String(64), nullable=False),
    Column("did", String(64), nullable=True),
    Column("trunk", String(64), nullable=True),
    Column("answered_by", String(64), nullable=True),
    Column("result", String(12), nullable=False),
    Column("reason", String(255), nullable=False),
    Column("routing_summary", String(500), nullable=False),
    Column("recording_id", String(40), nullable=True),
    Column("node", String(64), nullable=False),
    # Each filter's index ends with the sort key (started_at, id): the newest
    # matches are read in order and a page stops after its last row.
    Index("ix_call_records_started_at_id", "started_at", "id"),
    Index("ix_call_records_caller_started_at_id", "caller", "started_at", "id"),
    Index("ix_call_records_callee_started_at_id", "callee", "started_at", "id"),
    Index("ix_call_records_answered_by_started_at_id", "answered_by", "started_at", "id"),
    Index("ix_call_records_trunk_started_at_id", "trunk", "started_at", "id"),
    Index("ix_call_records_result_started_at_id", "result", "started_at", "id"),
    Index("ix_call_records_duration_id", "duration", "id"),
    # Sorted by duration, a filter needs its own index: walking (duration, id)
    # and skipping finds the short failed or unanswered calls only at the end.
    Index("ix_call_records_result_duration_id", "result", "duration", "id"),
    Index("ix_call_records_trunk_duration_id", "trunk", "duration", "id"),
    Index("ix_call_records_direction_duration_id", "direction", "duration", "id"),
)
"""Finished calls, one row each, written once by the node that handled them.

Sorted by start time, the ``direction`` filter has no index of its own: each
direction is a large share of the calls, so walking ``started_at`` and
skipping is as quick (``bench/RESULTS.md``)."""

changes = Table(
    "changes",
    metadata,
    Column("id", _Identity, primary_key=True, autoincrement=True),
    Column("at", UTC_DATETIME, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JsonDocument, nullable=False),
    sqlite_autoincrement=True,
)
"""The change feed (an outbox): each committed domain event, in commit order.

``id`` is the record's position. SQLite's AUTOINCREMENT never reuses a
position after pruning; PostgreSQL's identity never does either, and the
writer's advisory lock (``storage/changes.py``) makes positions commit in
order."""

feed_cursors = Table(
    "feed_cursors",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
)
"""The change-feed position each node has applied (where it resumes after a restart)."""

feed_horizon = Table(
    "feed_horizon",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""One row: the newest pruned position (a cursor below it has missed changes)."""
