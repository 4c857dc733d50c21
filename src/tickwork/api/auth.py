"""Native API authentication: HTTP Basic with an access key id and its secret.

Authentication only says who calls; what the caller may do is the services' to decide
(service/rights.py), so every key, admin or not, reaches the routes it has rights for."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from tickwork.domain.errors import Unauthenticated
from tickwork.service import rights
from tickwork.service.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Where a request keeps its caller once authenticated: the request limits (api/limits.py)
# authenticate a native call before its body is read, and the route's dependency then finds
# the caller here instead of checking the key again.
KEY_SCOPE = "tickwork.caller"


async def require_key(request: Request) -> rights.Caller:
    """The caller (its access key and rights), or 401."""
    known: rights.Caller | None = request.scope.get(KEY_SCOPE)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthenticated(
            "this call needs an access key: HTTP Basic auth with the key id and its secret"
        )
    try:
        key_id, sep, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("the Authorization header is not valid Basic auth") from None
    if not sep:
        raise Unauthenticated("the Authorization header is not valid Basic auth")
    caller = await services_of(request).access.authenticate(key_id, secret)
    request.scope[KEY_SCOPE] = caller
    return caller


# The authenticated caller of a native route, as a route parameter.
Caller = Annotated[rights.Caller, Depends(require_key)]
