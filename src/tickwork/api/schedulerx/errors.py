"""tickwork errors as SchedulerX answers: the HTTP status and the ``Code`` a client sees.

Two kinds (docs/schedulerx.md, "Errors"):

- what the product itself refuses (an unknown or mismatched namespace, group, job or
  instance; a state that forbids the action; a parameter value it rejects; no right on the
  group) answers **HTTP 200** with ``Success: false``, an integer ``Code`` (the SDK models
  type it int and call it "the HTTP status code": 400, 403, 404, 409) and the message. The
  official clients raise on HTTP >= 400 before a program could read ``Success``;
- what the API gateway refuses before the product sees the call (signatures, keys,
  timestamps, nonces, an unknown action, a required parameter missing, a body too large or
  too slow, the service unavailable) stays an HTTP error with a string code
  (``SignatureDoesNotMatch``, ``MissingParameter``, ...), as the public gateway answers.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from tickwork.api.schedulerx.envelope import render, wants_xml
from tickwork.api.schedulerx.required import required_by_product
from tickwork.domain import errors as e

Code = int | str
"""An integer for the product's refusals, a string for the gateway's."""


class SchedulerxError(e.TickworkError):
    """A refusal of the gateway, with its own public code (signatures, unknown actions)."""

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


# The product's refusals, first match wins: (kind, Code). HTTP status 200.
_PRODUCT: list[tuple[type[e.TickworkError], int]] = [
    (e.InvalidParameter, 400),  # InvalidTimeExpression included
    (e.Forbidden, 403),
    (e.NotFound, 404),  # namespace, group, job, instance, calendar, policy, key
    (e.Conflict, 409),  # AlreadyExists, InvalidState (JobDisabled, ScheduleError)
]

# The gateway's refusals: (kind, HTTP status, code).
_GATEWAY: list[tuple[type[e.TickworkError], int, str]] = [
    (e.Unauthenticated, 401, "InvalidAccessKeyId.NotFound"),
    (e.RequestTimeout, 408, "RequestTimeout"),
    (e.PayloadTooLarge, 413, "PayloadTooLarge"),
    # the database is down: a failure of the service, not a refusal of the call; the client
    # may send it again (the SDKs' retry options look at the HTTP status)
    (e.Unavailable, 503, "ServiceUnavailable"),
]

PRODUCT_STATUS = 200


def status_and_code(error: e.TickworkError, action: str = "") -> tuple[int, Code]:
    """The HTTP status and the ``Code`` of ``error`` answering a call of ``action``."""
    if isinstance(error, SchedulerxError):
        return error.status, error.code
    if error.code == "MissingParameter" and (
        not action or required_by_product(action, error.field)
    ):
        return 400, "MissingParameter"
    for kind, status, code in _GATEWAY:
        if isinstance(error, kind):
            return status, code
    for product_kind, product_code in _PRODUCT:
        if isinstance(error, product_kind):
            return PRODUCT_STATUS, product_code
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
