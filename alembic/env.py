"""Alembic environment: one metadata, URL from fieldscope settings or the caller."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import fieldscope.models  # noqa: F401  (registers every table)
from fieldscope.common.models import metadata
from fieldscope.db import get_engine

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or None
    with get_engine(url).connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("fieldscope migrations run online only")
run_migrations_online()
