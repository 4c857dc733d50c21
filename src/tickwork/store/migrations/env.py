"""Alembic environment. At runtime ``tickwork.store.migrate`` hands over a connection; a
developer can also run ``alembic -c <ini with script_location and sqlalchemy.url> revision
--autogenerate -m ...`` against a scratch database to draft a new revision."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context

from tickwork.store.engine import create_engine, normalize_url
from tickwork.store.migrate import VERSION_TABLE
from tickwork.store.tables import metadata

config = context.config


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        **kwargs,
    )


def _run(connection: sa.Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url to the database to migrate")
    if context.is_offline_mode():
        _configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_with_url(url))


main()
