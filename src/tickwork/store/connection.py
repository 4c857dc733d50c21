"""``StoreConnection``: what the store's methods use of a connection inside a transaction.

Two kinds of connection stand behind it, and the methods cannot tell them apart:

- PostgreSQL: SQLAlchemy's ``AsyncConnection`` itself. It satisfies this Protocol as it is
  (mypy checks it where ``SqlBase._tx_on`` yields one), so no adapter sits between a
  statement and asyncpg.
- SQLite: ``LoopConnection`` (``store/loop_connection.py``), a synchronous connection whose
  statements run at once on the event loop's thread (why: ``SqlBase._sqlite_tx``).

The members are exactly those the store's methods call (``execute``, ``scalar``,
``run_sync``); the overloads are ``AsyncConnection``'s, so a typed ``select`` still gives a
typed result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, TypeVarTuple, overload

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.sql.selectable import TypedReturnsRows

__all__ = ["Parameters", "Row", "StoreConnection"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

Row = Mapping[str, Any]
"""One set of bound parameters, by name."""
Parameters = Row | Sequence[Row]
"""One set of bound parameters, or many (an executemany)."""


class StoreConnection(Protocol):
    """A connection inside one of the store's transactions (``SqlBase._read``/``_write``).

    The transaction is the caller's: there is no ``commit`` or ``begin`` here."""

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
        """Run ``statement`` (once per set of ``parameters``); its rows are buffered."""
        ...

    @overload
    async def scalar(
        self, statement: TypedReturnsRows[_T], parameters: Row | None = None
    ) -> _T | None: ...

    @overload
    async def scalar(self, statement: sa.Executable, parameters: Row | None = None) -> Any: ...

    async def scalar(self, statement: sa.Executable, parameters: Row | None = None) -> Any:
        """The first column of the first row, or None."""
        ...

    async def run_sync(self, fn: Callable[[sa.Connection], _T]) -> _T:
        """``fn`` given the synchronous connection under this one, for what only it offers
        (``exec_driver_sql``: a statement sent to the driver as it is)."""
        ...
