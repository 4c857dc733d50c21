"""The load: shell jobs firing every second, and API triggers of one more shell job sent round
robin to the servers at a steady rate. Every run appends one line to the run file (``ran``):
its instance, its attempt and the instant its script started, so what really ran can be told
from what was recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import KEY

from tickwork.client import ApiError, AsyncClient

__all__ = ["Sent", "Triggers", "api_job", "cron_jobs", "script"]

TRIGGER_TIMEOUT_S = 10.0


def script(run_file: Path) -> str:
    """The shell job's script: one line per run, written in one ``write`` (O_APPEND)."""
    return f'echo "$TICKWORK_JOB_INSTANCE_ID $TICKWORK_ATTEMPT $EPOCHREALTIME" >> {run_file}'


def cron_jobs(count: int, run_file: Path) -> list[dict[str, Any]]:
    """``count`` shell jobs firing every second, with the defaults (no retry: a fire a second
    is not worth one; fire once now after a misfire) but MaxConcurrency 5: 300 shells started
    at once on 2 busy cores sometimes take over a second, and with MaxConcurrency 1 the next
    fire of every job was then rejected, a cost of the machine, not of a fault."""
    return [
        {"name": f"tick-{n}", "job_type": "shell", "content": script(run_file),
         "time_type": "cron", "time_expression": "* * * * * ?", "max_concurrency": 5,
         "history_limit": 1_000_000}
        for n in range(count)
    ]  # fmt: skip


def api_job(run_file: Path) -> dict[str, Any]:
    """The shell job the triggers start: retried (up to 3 times, at once) so that a lost run
    is run again rather than lost; no limit on concurrent runs."""
    return {
        "name": "triggered", "job_type": "shell", "content": script(run_file),
        "time_type": "api", "max_attempt": 3, "attempt_interval": 0,
        "max_concurrency": 1000, "history_limit": 1_000_000,
    }  # fmt: skip


@dataclass
class Sent:
    """One trigger: to which server, when, and its answer (an instance, or why not)."""

    n: int
    server: int
    sent_ms: float
    answered_ms: float = 0.0
    instance: int | None = None
    refusal: str | None = None  # e.g. "503 Unavailable", "0 Unreachable"

    @property
    def parameters(self) -> str:
        """Its instance parameters: how its instance is found without an answer."""
        return f"t{self.n}"


@dataclass
class Triggers:
    """``per_second`` triggers of ``job_id`` through the native API (tickwork's client), the
    n-th to server n mod len(urls); each waits for its answer on its own (up to 10 s), so a
    dead server delays none of the others."""

    urls: list[str]
    job_id: int
    per_second: float
    sent: list[Sent] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> list[Sent]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TRIGGER_TIMEOUT_S + 30)
        return self.sent

    async def _run(self) -> None:
        clients = [AsyncClient(url, *KEY, timeout=TRIGGER_TIMEOUT_S) for url in self.urls]
        pending: set[asyncio.Task[None]] = set()
        due = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                record = Sent(n, n % len(clients), time.time() * 1000)
                self.sent.append(record)
                task = asyncio.create_task(self._send(clients[record.server], record))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                due += 1 / self.per_second
                await asyncio.sleep(max(due - time.monotonic(), 0))
            await asyncio.gather(*pending)
        finally:
            for client in clients:
                await client.aclose()

    async def _send(self, client: AsyncClient, record: Sent) -> None:
        try:
            answer = await client.run_job(self.job_id, instance_parameters=record.parameters)
            record.instance = int(answer["id"])
        except ApiError as exc:
            record.refusal = f"{exc.status} {exc.code}"
        except Exception as exc:  # a refusal all the same, named by its type
            record.refusal = type(exc).__name__
        record.answered_ms = time.time() * 1000
