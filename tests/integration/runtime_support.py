"""Shared helpers of integration tests (importable by name: tests/integration is on sys.path)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"


async def wait_for(
    check: Callable[[], Awaitable[Any]], within: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll until ``check`` returns something truthy; fail with the last value otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    value = None
    while asyncio.get_running_loop().time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s (last value: {value!r})")
