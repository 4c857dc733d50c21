"""What the bench scripts share (run as ``python bench/NAME.py``: this folder is on the path)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], object], within: float = 60.0, every: float = 0.1) -> None:
    """Poll ``check`` (a server not answering yet counts as not yet) until it is truthy."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(every)
    raise SystemExit(f"timed out after {within:g} s waiting for the server or its workers")
