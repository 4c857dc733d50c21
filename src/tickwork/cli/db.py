"""``tickwork db``: the database's schema on its own (``upgrade``, ``current``)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from tickwork.cli.common import out

db_app = typer.Typer(help="The database's schema: upgrade it, show its version.")

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="sqlite:///FILE or postgresql://... (default: SQLite in the home; "
        "env TICKWORK_DATABASE_URL).",
    ),
]
Home = Annotated[
    str | None,
    typer.Option("--home", metavar="DIR", help="Default ~/.tickwork; env TICKWORK_HOME."),
]


def _url(db: str | None, home: str | None) -> str:
    from tickwork.settings import Settings

    return Settings.from_env(database_url=db, home=home).effective_database_url


@db_app.command("upgrade")
def upgrade(db: Db = None, home: Home = None) -> None:
    """Apply the pending migrations and exit (servers starting at once wait for each other)."""
    from tickwork.store.engine import normalize_url, safe_url
    from tickwork.store.migrate import head_revision
    from tickwork.store.sql import SqlStore

    url = _url(db, home)

    async def run() -> tuple[str, str]:
        store = SqlStore(url)
        before = await _revision_of(url)
        await store.open()  # migrates
        await store.close()
        return before, head_revision()

    before, after = asyncio.run(run())
    parsed = normalize_url(url)
    where = safe_url(parsed.set(drivername=parsed.get_backend_name()))
    if before == after:
        out().print(f"{where}: schema already at {after}")
    else:
        out().print(f"{where}: schema upgraded from {before} to {after}")


@db_app.command("current")
def current(db: Db = None, home: Home = None) -> None:
    """Print the database's schema version and the newest this tickwork knows."""
    from tickwork.store.migrate import head_revision

    revision = asyncio.run(_revision_of(_url(db, home)))
    out().print(f"database schema: {revision}; this tickwork knows up to {head_revision()}")


async def _revision_of(url: str) -> str:
    from sqlalchemy.exc import DBAPIError

    from tickwork.domain.errors import Unavailable
    from tickwork.store.engine import create_engine, normalize_url, prepare_database, safe_url
    from tickwork.store.migrate import current_revision

    parsed = normalize_url(url)
    await prepare_database(parsed)
    engine = create_engine(parsed)
    try:
        return await current_revision(engine)
    except (DBAPIError, OSError) as exc:
        raise Unavailable(f"cannot open the database {safe_url(parsed)}: {exc}") from exc
    finally:
        await engine.dispose()
