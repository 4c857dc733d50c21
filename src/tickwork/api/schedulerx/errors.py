"""tickwork errors as SchedulerX answers: the HTTP status and the code a client sees.

Codes follow the public Alibaba Cloud spelling (``InvalidParameter``, ``MissingParameter``,
``InvalidJob.NotFound``, ``SignatureDoesNotMatch``, ...). The message names the field.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from tickwork.api.schedulerx.envelope import render, wants_xml
from tickwork.domain import errors as e


class SchedulerxError(e.TickworkError):
    """An error with its own public code (signatures, unknown actions)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def unknown_action(action: str) -> SchedulerxError:
    return SchedulerxError(
        404,
        "InvalidAction.NotFound",
        f"the action {action!r} is not part of SchedulerX 2019-04-30 (specified api is not found)",
    )


def not_supported_yet(action: str, comes_with: str) -> SchedulerxError:
    return SchedulerxError(
        501,
        "UnsupportedOperation",
        f"{action} is not supported yet: it comes with {comes_with}",
    )


_CODES: list[tuple[type[e.TickworkError], int, str]] = [
    (e.InvalidTimeExpression, 400, "InvalidParameter.TimeExpression"),
    (e.InvalidParameter, 400, "InvalidParameter"),
    (e.Unauthenticated, 401, "InvalidAccessKeyId.NotFound"),
    (e.Forbidden, 403, "Forbidden"),
    (e.NamespaceNotFound, 404, "InvalidNamespace.NotFound"),
    (e.GroupNotFound, 404, "InvalidGroup.NotFound"),
    (e.JobNotFound, 404, "InvalidJob.NotFound"),
    (e.InstanceNotFound, 404, "InvalidJobInstance.NotFound"),
    (e.CalendarNotFound, 404, "InvalidCalendar.NotFound"),
    (e.NotFound, 404, "NotFound"),
    (e.AlreadyExists, 409, "AlreadyExists"),
    (e.JobDisabled, 409, "JobDisabled"),
    (e.Conflict, 409, "IncorrectStatus"),
    (e.RequestTimeout, 408, "RequestTimeout"),
    (e.PayloadTooLarge, 413, "PayloadTooLarge"),
    (e.Unavailable, 503, "ServiceUnavailable"),
]


def status_and_code(error: e.TickworkError) -> tuple[int, str]:
    if isinstance(error, SchedulerxError):
        return error.status, error.code
    if error.code == "MissingParameter":
        return 400, "MissingParameter"
    for kind, status, code in _CODES:
        if isinstance(error, kind):
            return status, code
    return 500, "InternalError"


def refusal(request: Request, error: e.TickworkError) -> Response:
    """The answer to a call refused before its body was read (too large, too slow): the
    envelope of ``rpc``, from what the query and the headers say (Action, Format)."""
    status, code = status_and_code(error)
    query = request.query_params
    action = query.get("Action") or request.headers.get("x-acs-action") or ""
    answer = {
        "RequestId": str(uuid.uuid4()).upper(),
        "Code": code,
        "Success": False,
        "Message": error.message,
    }
    xml = wants_xml(query.get("Format"), request.headers.get("accept"))
    return render(action, answer, status=status, xml=xml)
