"""The one error hierarchy. Each error carries its HTTP status and a stable code.

Every API renders a ``TickworkError`` in its own envelope; the message is for people and names
the field and the problem. Nothing else (no traceback) reaches a client.
"""

from __future__ import annotations


class TickworkError(Exception):
    """Something went wrong."""

    status: int = 500
    code: str = "InternalError"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.field = field
        super().__init__(self.message)


class InvalidParameter(TickworkError):
    """A parameter is missing or malformed."""

    status = 400
    code = "InvalidParameter"


class InvalidTimeExpression(InvalidParameter):
    """The time expression is not valid."""

    code = "InvalidTimeExpression"

    def __init__(
        self, message: str, *, position: int | None = None, field: str | None = "time_expression"
    ) -> None:
        self.position = position
        super().__init__(message, field=field)


class RequestTimeout(TickworkError):
    """The request did not arrive in time."""

    status = 408
    code = "RequestTimeout"


class PayloadTooLarge(TickworkError):
    """The request is larger than the server accepts."""

    status = 413
    code = "PayloadTooLarge"


class Unauthenticated(TickworkError):
    """The request carries no valid access key."""

    status = 401
    code = "Unauthenticated"


class Forbidden(TickworkError):
    """The access key has no right to do this."""

    status = 403
    code = "Forbidden"


class NotFound(TickworkError):
    """The thing asked for does not exist."""

    status = 404
    code = "NotFound"


class NamespaceNotFound(NotFound):
    code = "NamespaceNotFound"


class GroupNotFound(NotFound):
    code = "GroupNotFound"


class JobNotFound(NotFound):
    code = "JobNotFound"


class InstanceNotFound(NotFound):
    code = "InstanceNotFound"


class CalendarNotFound(NotFound):
    code = "CalendarNotFound"


class Conflict(TickworkError):
    """The request conflicts with what is stored."""

    status = 409
    code = "Conflict"


class AlreadyExists(Conflict):
    code = "AlreadyExists"


class InvalidState(Conflict):
    """The thing is not in a state that allows this."""

    code = "InvalidState"


class JobDisabled(InvalidState):
    code = "JobDisabled"


class ScheduleError(InvalidState):
    """The job's schedule cannot be computed: a fire, or its data time, is not an instant that
    can be stored (planning marks the job with it and does not plan it until it is changed)."""

    code = "ScheduleError"


class Unavailable(TickworkError):
    """The server cannot do this now; try again."""

    status = 503
    code = "Unavailable"


class ServerStopping(Unavailable):
    """This server is stopping and takes no new runs: send the call to another server (or
    again in a moment)."""

    code = "ServerStopping"


RETRY_AFTER_S = 1
"""What a refusal for the moment (``Unavailable``: the database is down, the server is
stopping) tells the client to wait before it tries again (``Retry-After``)."""


REASON_LIMIT = 500
"""The longest reason kept for a failure that is stored (a job's schedule error)."""


def reason_of(exc: BaseException) -> str:
    """A failure in words for people: a TickworkError's message (after its field, when the
    message does not name it), else the exception's type and text; at most REASON_LIMIT
    characters."""
    if isinstance(exc, TickworkError):
        field = exc.field
        text = f"{field}: {exc.message}" if field and field not in exc.message else exc.message
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"
