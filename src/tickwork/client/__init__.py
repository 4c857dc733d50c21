"""Python client of tickwork's native REST API (docs/native-api.md).

``AsyncClient`` and ``Client`` share one implementation of every operation
(``operations.Operations``); they differ only in the transport that sends a request (httpx's
async or sync client). Every operation returns the JSON the server sent, as plain dicts; an
error envelope raises ``ApiError``.

The modules, in the order a request travels:

- ``credentials``: where the URL and access key come from (``TICKWORK_*`` or credentials.json);
- ``encoding``: arguments in the API's wire form (instants, query pairs, bodies, path segments);
- ``operations``: every endpoint, once, written against an abstract transport;
- ``clients``: ``AsyncClient`` and ``Client``, the two transports over httpx;
- ``responses``: a response into its JSON, or into ``ApiError``;
- ``errors``: ``ApiError`` and ``ServerUnreachable``.
"""

from tickwork.client.clients import AsyncClient, Client
from tickwork.client.credentials import DEFAULT_URL, load_credentials
from tickwork.client.encoding import JSON, format_instant
from tickwork.client.errors import ApiError, ServerUnreachable

__all__ = [
    "DEFAULT_URL",
    "JSON",
    "ApiError",
    "AsyncClient",
    "Client",
    "ServerUnreachable",
    "format_instant",
    "load_credentials",
]
