"""A real HTTP server on loopback that answers as scripted (for the client and CLI tests)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

KEY_ID = "test-key"
SECRET = "test-secret"


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    auth: tuple[str, str] | None
    body: Any


Reply = tuple[int, Any]  # status and JSON body (None: no body; str: sent as text)
Route = Callable[[Seen], Reply]


@dataclass
class StubServer:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)

    def on(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = lambda _seen: (status, body)

    def route(self, method: str, path: str, handler: Route) -> None:
        self.routes[(method, path)] = handler


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                self.command,
                parts.path,
                parse_qsl(parts.query, keep_blank_values=True),
                _basic(self.headers.get("Authorization", "")),
                json.loads(raw) if raw else None,
            )
            stub.seen.append(seen)
            route = stub.routes.get((self.command, parts.path))
            status, body = (
                route(seen)
                if route
                else (404, {"error": {"code": "NotFound", "message": "no route"}})
            )
            if body is None:
                payload, kind = b"", "application/json"
            elif isinstance(body, str):
                payload, kind = body.encode(), "text/plain"
            else:
                payload, kind = json.dumps(body).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


def _basic(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return (user, password)


def start_stub() -> tuple[StubServer, Callable[[], None]]:
    """A running stub server and the function that stops it."""
    state = StubServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return state, stop
