"""Native API authentication: HTTP Basic with an access key id and its secret."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from tickwork.domain.errors import Forbidden, Unauthenticated
from tickwork.domain.models import AccessKey
from tickwork.service.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Where a request keeps its caller's key once authenticated: the request limits
# (api/limits.py) authenticate a native call before its body is read, and the route's
# dependency then finds the key here instead of checking it again.
KEY_SCOPE = "tickwork.access_key"


async def require_key(request: Request) -> AccessKey:
    """The caller's access key, or 401."""
    known: AccessKey | None = request.scope.get(KEY_SCOPE)
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
    key = await services_of(request).access.authenticate(key_id, secret)
    request.scope[KEY_SCOPE] = key
    return key


async def require_admin_key(request: Request) -> AccessKey:
    """The caller's access key, which must be an admin key: the native API does not yet
    scope keys to namespaces (keys with granted rights use the SchedulerX API)."""
    key = await require_key(request)
    if not key.is_admin:
        raise Forbidden(
            f"access key {key.key_id!r} is not an admin key; the native API needs one (keys "
            "with rights on namespaces use the SchedulerX API)"
        )
    return key


Admin = Annotated[AccessKey, Depends(require_admin_key)]

# The authenticated caller of a native route, as a route parameter.
Caller = Admin
