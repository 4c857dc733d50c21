"""RequestLimitMiddleware: bodies are capped before and while they stream, slow bodies time out,
native calls are authenticated before their body is read, deep JSON is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from tickwork.api.errors import error_response
from tickwork.api.limits import BodyLimits, RequestLimitMiddleware
from tickwork.domain.errors import TickworkError, Unauthenticated

CAP = 1000


class Client:
    """Feeds a request to the middleware chunk by chunk and records what happened."""

    def __init__(self, chunks: list[bytes], *, stall_after: int | None = None) -> None:
        self.chunks = chunks
        self.stall_after = stall_after  # chunks given before the client goes silent
        self.received = 0  # chunks the server asked for and got
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.stall_after is not None and self.received >= self.stall_after:
            await asyncio.Event().wait()  # a client that sends nothing more
        index = self.received
        self.received += 1
        if index >= len(self.chunks):
            return {"type": "http.disconnect"}
        more = index < len(self.chunks) - 1
        return {"type": "http.request", "body": self.chunks[index], "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


class Echo:
    """The app behind the middleware: answers with the body it was given."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = await Request(scope, receive).body()
        await JSONResponse({"length": len(body), "body": body.decode()})(scope, receive, send)


def scope(path: str = "/", headers: dict[str, str] | None = None) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }


def refuse(request: Request, error: TickworkError) -> Response:
    return error_response(error)


def middleware(
    app: Echo,
    *,
    authenticate: Callable[[Request], Awaitable[Any]] | None = None,
    timeout_s: float = 5.0,
) -> RequestLimitMiddleware:
    async def anyone(request: Request) -> None:
        return None

    return RequestLimitMiddleware(
        app, BodyLimits(CAP, timeout_s), refuse=refuse, authenticate=authenticate or anyone
    )


async def test_a_declared_length_over_the_cap_is_refused_without_reading() -> None:
    app, client = Echo(), Client([b"x" * 10])
    await middleware(app)(
        scope(headers={"content-length": str(CAP + 1)}), client.receive, client.send
    )
    assert client.status == 413
    assert client.received == 0 and app.calls == 0
    assert client.body["error"]["code"] == "PayloadTooLarge"
    assert client.body["error"]["field"] == "body"
    assert str(CAP) in client.body["error"]["message"]


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_cap() -> None:
    # chunked (no Content-Length), or a Content-Length that lies: counted as it comes
    chunks = [b"x" * 400] * 10
    app, client = Echo(), Client(chunks)
    await middleware(app)(scope(headers={"content-length": "10"}), client.receive, client.send)
    assert client.status == 413
    assert client.received == 3  # 1,200 bytes: nothing read after the chunk that passed
    assert app.calls == 0


async def test_a_body_within_the_cap_reaches_the_app_whole() -> None:
    app, client = Echo(), Client([b"a" * 500, b"b" * 500])
    await middleware(app)(scope(), client.receive, client.send)
    assert client.status == 200
    assert client.body == {"length": CAP, "body": "a" * 500 + "b" * 500}


async def test_a_body_that_does_not_arrive_in_time_gets_408() -> None:
    app, client = Echo(), Client([b"x" * 10, b"y"], stall_after=1)
    await middleware(app, timeout_s=0.05)(scope(), client.receive, client.send)
    assert client.status == 408
    assert client.body["error"]["code"] == "RequestTimeout"
    assert client.headers["connection"] == "close"
    assert app.calls == 0


async def test_a_native_call_is_authenticated_before_its_body_is_read() -> None:
    seen: list[int] = []
    client = Client([b"{not json"])

    async def nobody(request: Request) -> None:
        seen.append(client.received)
        raise Unauthenticated("this call needs an access key")

    app = Echo()
    await middleware(app, authenticate=nobody)(
        scope("/api/v1/jobs", {"content-type": "application/json"}), client.receive, client.send
    )
    assert seen == [0]  # asked before any byte of the body
    assert client.status == 401 and client.received == 0 and app.calls == 0
    assert client.headers["www-authenticate"].startswith("Basic")


async def test_other_paths_are_not_authenticated_by_the_limits() -> None:
    async def nobody(request: Request) -> None:
        raise AssertionError("not a native call")

    app, client = Echo(), Client([b"Action=X"])
    await middleware(app, authenticate=nobody)(scope("/"), client.receive, client.send)
    assert client.status == 200


@pytest.mark.parametrize("document", ["[" * 65 + "]" * 65, '{"a":' * 65 + "1" + "}" * 65])
async def test_native_json_nested_too_deep_is_refused_naming_the_body(document: str) -> None:
    app, client = Echo(), Client([document.encode()])
    await middleware(app)(scope("/api/v1/jobs"), client.receive, client.send)
    assert client.status == 400
    assert client.body["error"] == {
        "code": "InvalidParameter",
        "message": "body: the JSON is nested deeper than 64 levels of arrays and objects",
        "field": "body",
    }
    assert app.calls == 0


async def test_native_json_at_the_depth_limit_passes() -> None:
    document = "[" * 64 + "]" * 64
    app, client = Echo(), Client([document.encode()])
    await middleware(app)(scope("/api/v1/jobs"), client.receive, client.send)
    assert client.status == 200 and app.calls == 1


async def test_a_client_gone_before_its_body_arrived_gets_no_answer() -> None:
    app, client = Echo(), Client([])
    await middleware(app)(scope(), client.receive, client.send)
    assert client.sent == [] and app.calls == 0
