"""HTTP connections that send their request too slowly, or too much of it, are closed.

uvicorn closes an idle keep-alive connection ``timeout_keep_alive`` after an answer, but only
until the first byte of the next request; before the first request it has no timer at all, and
it buffers a request's line and headers without a bound. A client that opens connections and
sends nothing, or trickles its headers a byte at a time (slowloris), held each one forever.

``head_limited_protocol`` is uvicorn's httptools protocol with a deadline and a size bound on
each request's head (request line and headers): from the moment the connection opens, or the
previous answer was sent, the head must be complete within ``timeout_s`` and ``max_bytes``;
otherwise the connection gets a 408 (or 431) and is closed. The body's own deadline and size
are the request limits' (api/limits.py).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["MAX_HEAD_BYTES", "head_limited_protocol"]

MAX_HEAD_BYTES = 64 * 1024
"""The largest request head accepted (nginx's default buffers take 4 x 8 KiB; an access key's
Basic auth header or a signed SchedulerX GET stays far below)."""


def _answer(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


_TIMED_OUT = _answer(b"408 Request Timeout")
_TOO_LARGE = _answer(b"431 Request Header Fields Too Large")


class _HeadLimitedProtocol(HttpToolsProtocol):
    head_timeout_s: float = 10.0
    max_head_bytes: int = MAX_HEAD_BYTES
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes: int = 0
    # True from the end of a request's head to the end of its body: an answer given before the
    # body was read (a refusal) leaves the rest of the body to be read and discarded first
    _in_body: bool = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_in_body = self._in_body
        super().data_received(data)
        if self._head_timer is not None and not (was_in_body or self._in_body):
            # Counted after parsing, and only while no earlier body is being discarded: the
            # bytes of a body that came with its head in one read do not count against it.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._head_arrived()
        self._in_body = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            # The next head must come within the deadline, after what is left of a refused
            # body: a body that does not end is cut off with the connection.
            self._await_head()

    def _await_head(self) -> None:
        self._head_arrived()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._refuse, _TIMED_OUT)

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, answer: bytes) -> None:
        self._head_arrived()
        if not self.transport.is_closing():
            if not self._in_body:  # not in the middle of a body already answered
                self.transport.write(answer)
            self.transport.close()


def head_limited_protocol(
    timeout_s: float, max_bytes: int = MAX_HEAD_BYTES
) -> type[HttpToolsProtocol]:
    """uvicorn's ``http`` protocol class, with these bounds on each request's head."""
    return type(
        "HeadLimitedProtocol",
        (_HeadLimitedProtocol,),
        {"head_timeout_s": timeout_s, "max_head_bytes": max_bytes},
    )
