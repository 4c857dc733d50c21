"""The errors a client call raises: the server's error envelope, or no server at all."""

from __future__ import annotations

from tickwork.domain.errors import TickworkError

__all__ = ["ApiError", "ServerUnreachable"]


class ApiError(TickworkError):
    """The server answered with an error."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r})"


class ServerUnreachable(ApiError):
    """No tickwork server answers at the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "Unreachable", f"cannot reach tickwork at {url}: {reason}")
        self.url = url
