"""Apply the Alembic migrations shipped inside the package (no alembic.ini at runtime)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from tickwork.domain.errors import Unavailable
from tickwork.store.engine import WRITE

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "SchemaTooNew",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "tickwork_schema_version"
# pg_advisory_lock key held while migrating: the bytes of "tickwork" as a big-endian int64.
MIGRATION_LOCK_KEY = int.from_bytes(b"tickwork", "big")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and at a connection, if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


class SchemaTooNew(Unavailable):
    """The database's schema is newer than this tickwork knows (a newer release migrated
    it): running on it could lose what the newer schema holds, so tickwork refuses."""


def head_revision() -> str:
    """The newest schema version this tickwork knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or "base"


def _current(connection: sa.Connection) -> tuple[str, ...]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _refuse_unknown(connection: sa.Connection) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [head for head in _current(connection) if head not in known]
    if unknown:
        raise SchemaTooNew(
            f"the database schema is at version {', '.join(unknown)}, newer than this "
            f"tickwork knows (up to {head_revision()}): a newer tickwork upgraded it. Run "
            "that newer tickwork (every server on this database must be at least as new)"
        )


def _upgrade(connection: sa.Connection, revision: str) -> None:
    _refuse_unknown(connection)
    command.upgrade(alembic_config(connection), revision)


def _downgrade(connection: sa.Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (see ``_migrate``)."""
    await _migrate(engine, _upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str:
    """The database's schema version (``base``: none yet)."""
    async with engine.connect() as conn:
        heads = await conn.run_sync(_current)
    return ", ".join(heads) or "base"


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema down to ``revision`` (``base``: no tables); for tests and operators."""
    await _migrate(engine, _downgrade, revision)


async def _migrate(
    engine: AsyncEngine, action: Callable[[sa.Connection, str], None], revision: str
) -> None:
    """Run ``action`` in one transaction.

    PostgreSQL: under a session advisory lock, so servers starting at once migrate one after
    the other (the later ones find nothing to do). SQLite: the transaction starts with BEGIN
    IMMEDIATE, which serializes concurrent openers the same way.
    """
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        await conn.execution_options(**{WRITE: True})
        if postgres:
            await conn.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(action, revision)
        finally:
            if postgres:
                await conn.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                await conn.commit()
