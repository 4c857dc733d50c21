"""``GET /`` and ``POST /``: one RPC call of the SchedulerX API.

The action comes from the ``x-acs-action`` header or the ``Action`` parameter; parameters from
the query and, for POST, a form body. The signature is checked before anything else is done.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from tickwork.api.schedulerx import actions as _actions  # noqa: F401  (registers the actions)
from tickwork.api.schedulerx.envelope import render, wants_xml
from tickwork.api.schedulerx.errors import SchedulerxError, status_and_code, unknown_action
from tickwork.api.schedulerx.params import MissingParameter, Params
from tickwork.api.schedulerx.registry import ACTIONS, Call
from tickwork.api.schedulerx.signature import SignatureVerifier, SignedRequest
from tickwork.domain.errors import RETRY_AFTER_S, TickworkError
from tickwork.service.services import Services

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"


def _verifier(request: Request, services: Services) -> SignatureVerifier:
    verifier: SignatureVerifier | None = getattr(request.app.state, "schedulerx_verifier", None)
    if verifier is None:
        verifier = SignatureVerifier(services.access.find, use_nonce=services.nonces.use_nonce)
        request.app.state.schedulerx_verifier = verifier
    return verifier


async def rpc(request: Request) -> Response:
    request_id = str(uuid.uuid4()).upper()
    services: Services = request.app.state.services
    body = await request.body()
    query = list(request.query_params.multi_items())
    form: list[tuple[str, str]] = []
    if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM):
        form = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    params = Params(query + form)
    header_action = request.headers.get("x-acs-action") or ""
    param_action = params.raw("Action") or ""
    action = param_action or header_action
    xml = wants_xml(params.raw("Format"), request.headers.get("accept"))
    try:
        if not action:
            raise MissingParameter(
                "Action is mandatory: give it in the x-acs-action header or the Action parameter",
                field="Action",
            )
        if header_action and param_action and header_action != param_action:
            raise SchedulerxError(
                400,
                "InvalidParameter",
                f"the x-acs-action header ({header_action}) and the Action parameter "
                f"({param_action}) disagree",
            )
        signed = SignedRequest(
            method=request.method,
            path=request.url.path,
            query=query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            form=form,
        )
        key = await _verifier(request, services).verify(signed)
        handler = ACTIONS.get(action)
        if handler is None:
            raise unknown_action(action)
        # what the caller may do is the services' to decide, from what each action touches
        caller = await services.access.caller_of(key)
        data = await handler(Call(action, params, caller, services, request_id))
        answer = {"RequestId": request_id, "Code": 200, "Success": True, "Message": ""}
        answer.update(data)
        return render(action, answer, xml=xml)
    except TickworkError as exc:
        # a refusal of the product is HTTP 200 with an integer Code; the gateway's an HTTP error
        status, code = status_and_code(exc, action if action in ACTIONS else "")
        if status >= 500:
            log.error("%s failed: %s", action, exc.message)
        answer = {"RequestId": request_id, "Code": code, "Success": False, "Message": exc.message}
        response = render(action, answer, status=status, xml=xml)
        if status == 503:  # the database is down, or this server is stopping: try again
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    except Exception:
        log.exception("unexpected error in %s", action)
        answer = {
            "RequestId": request_id,
            "Code": "InternalError",
            "Success": False,
            "Message": "internal error; the server log has the details",
        }
        return render(action, answer, status=500, xml=xml)
