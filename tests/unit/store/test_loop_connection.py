"""LoopConnection: SQLite statements run at once on the calling thread, in the caller's
transaction, behind the StoreConnection interface."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from tickwork.store.loop_connection import LoopConnection

_T = TypeVar("_T")

items = sa.table("items", sa.column("id", sa.Integer), sa.column("name", sa.Text))


@pytest.fixture
def sync() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.commit()
        yield conn
    engine.dispose()


def at_once(coro: Coroutine[Any, Any, _T]) -> _T:
    """The coroutine's value, failing if it would suspend: a LoopConnection call must finish
    in one step, or the loop could interleave two transactions on one connection."""
    try:
        coro.send(None)
    except StopIteration as done:
        value: _T = done.value
        return value
    coro.close()
    raise AssertionError("the call suspended")


def test_execute_runs_without_suspending() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as sync:
        conn = LoopConnection(sync)
        result = at_once(conn.execute(sa.select(sa.literal(7), sa.literal("x"))))
        assert result.all() == [(7, "x")]
    engine.dispose()


def test_execute_many_scalar_and_run_sync_share_the_transaction(sync: sa.Connection) -> None:
    conn = LoopConnection(sync)
    with sync.begin() as tx:
        insert = sa.insert(items).values(id=sa.bindparam("b_id"), name=sa.bindparam("b_name"))
        params = [{"b_id": 1, "b_name": "a"}, {"b_id": 2, "b_name": "b"}]
        assert at_once(conn.execute(insert, params)).rowcount == 2
        count = sa.select(sa.func.count()).select_from(items)
        assert at_once(conn.scalar(count)) == 2
        name = sa.select(items.c.name).where(items.c.id == sa.bindparam("b_id"))
        assert at_once(conn.scalar(name, {"b_id": 2})) == "b"
        seen = at_once(
            conn.run_sync(lambda s: s.exec_driver_sql("SELECT name FROM items ORDER BY id").all())
        )
        assert [row[0] for row in seen] == ["a", "b"]
        tx.rollback()
    assert sync.scalar(sa.select(sa.func.count()).select_from(items)) == 0


def test_run_sync_gets_the_connection_itself(sync: sa.Connection) -> None:
    assert at_once(LoopConnection(sync).run_sync(lambda s: s)) is sync


def test_a_failed_statement_raises_from_the_call(sync: sa.Connection) -> None:
    conn = LoopConnection(sync)
    with pytest.raises(sa.exc.OperationalError):
        at_once(conn.execute(sa.text("SELECT * FROM missing")))
