"""``LoopConnection``: a ``StoreConnection`` over a synchronous SQLite connection whose
statements run at once on the event loop's thread.

Why on the loop's thread and not through aiosqlite: see ``SqlBase._sqlite_tx``. Each
method is a coroutine only to keep the one interface the store's methods are written
against; it awaits nothing, so it finishes in one step. It holds no state but the
connection, and adds nothing per statement: one call to the synchronous connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, overload

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.sql.selectable import TypedReturnsRows

    from tickwork.store.connection import Parameters, Row

__all__ = ["LoopConnection"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class LoopConnection:
    """``StoreConnection`` for SQLite: ``sync``'s statements, run on the calling thread."""

    __slots__ = ("_sync",)

    def __init__(self, sync: sa.Connection) -> None:
        self._sync = sync

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Parameters | None = None
    ) -> sa.CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self, statement: sa.Executable, parameters: Parameters | None = None
    ) -> sa.CursorResult[*tuple[Any, ...]]: ...

    async def execute(
        self, statement: sa.Executable, parameters: Parameters | None = None
    ) -> sa.CursorResult[*tuple[Any, ...]]:
        return self._sync.execute(statement, parameters)

    @overload
    async def scalar(
        self, statement: TypedReturnsRows[_T], parameters: Row | None = None
    ) -> _T | None: ...

    @overload
    async def scalar(self, statement: sa.Executable, parameters: Row | None = None) -> Any: ...

    async def scalar(self, statement: sa.Executable, parameters: Row | None = None) -> Any:
        return self._sync.scalar(statement, parameters)

    async def run_sync(self, fn: Callable[[sa.Connection], _T]) -> _T:
        return fn(self._sync)
