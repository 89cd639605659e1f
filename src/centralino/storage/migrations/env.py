"""Alembic environment: migrate the connection ``Database.migrate()`` hands over.

At run time the application passes its own connection in
``config.attributes["connection"]`` (see ``centralino.storage.database``). For
development, ``alembic -x url=sqlite:///path.db upgrade head`` (with a sync
driver URL) works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from centralino.storage.tables import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url is None:
        raise SystemExit("pass the database URL: alembic -x url=DRIVER://... COMMAND")
    engine = create_engine(url)
    with engine.begin() as own_connection:
        _migrate(own_connection)
    engine.dispose()


_run()
