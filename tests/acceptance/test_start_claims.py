"""The start claim (issue 21, engine/run_launch.py): a server that dies between starting a run
and recording the start leaves nothing that lets another server start that attempt again.

The window is made wide on purpose: a PostgreSQL transaction holds the fire's row locked
across its due instant, so the server that holds the fire cannot write anything to that row,
and it is SIGKILLed one second after the due instant. Before the claim, the run started at its
due instant all the same, its RUNNING was never written, and the server that adopted the fire
ran attempt 0 a second time."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from multi_support import KEY, only_in_the_postgres_pass, rows, start_server
from pg_support import PG_HOST, PG_PORT, PG_USER, create_pg_database, drop_pg_database
from server_support import ServerProcess, until

pytestmark = [pytest.mark.postgres, only_in_the_postgres_pass]

SETTINGS = {
    "TICKWORK_LEASE_S": "2",
    "TICKWORK_HEARTBEAT_S": "0.5",
    "TICKWORK_MISFIRE_THRESHOLD_MS": "10000",
}
SUCCESS = 4


@pytest.fixture
def database() -> Iterator[str]:
    name = create_pg_database("tickwork_claims")
    yield name
    drop_pg_database(name)


class RowLock:
    """A transaction of its own holding one instance's row locked until ``until`` (epoch s)."""

    def __init__(self, database: str, instance_id: int, until: float) -> None:
        self.locked = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._hold(database, instance_id, until)), daemon=True
        )
        self._thread.start()

    async def _hold(self, database: str, instance_id: int, until: float) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)
        try:
            async with conn.transaction():
                await conn.execute("SELECT id FROM instances WHERE id = $1 FOR UPDATE", instance_id)
                self.locked.set()
                await asyncio.sleep(max(until - time.time(), 0))
        finally:
            await conn.close()

    def join(self) -> None:
        self._thread.join(30)


def next_fire(database: str, job_id: int) -> dict[str, object] | None:
    """The job's planned fire due 1.2 s from now or later, with its owner's address."""
    found = rows(
        database,
        "SELECT i.id, i.schedule_time, s.address FROM instances i JOIN servers s "
        f"ON s.id = i.owner WHERE i.job_id = {job_id} AND i.status = 1 "
        f"AND i.schedule_time > {int(time.time() * 1000) + 1200} ORDER BY i.schedule_time LIMIT 1",
    )
    return dict(found[0]) if found else None


def test_a_server_killed_before_it_recorded_a_start_leaves_that_attempt_run_once(
    database: str, tmp_path: Path
) -> None:
    ran = tmp_path / "ran.txt"
    servers: list[ServerProcess] = [
        start_server(tmp_path / name, database, in_process_worker=True, **SETTINGS)
        for name in ("a", "b")
    ]
    try:
        with httpx.Client(base_url=servers[0].url, auth=KEY, timeout=30) as api:
            job = api.post(
                "/api/v1/jobs",
                json={"name": "every-5-s", "job_type": "shell", "time_type": "cron",
                      "time_expression": "*/5 * * * * ?", "max_attempt": 0,
                      "content": f'echo "$TICKWORK_JOB_INSTANCE_ID $TICKWORK_ATTEMPT" >> {ran}'},
            ).json()["id"]  # fmt: skip
        fire = until(lambda: next_fire(database, job), 15)
        due_s = int(str(fire["schedule_time"])) / 1000
        victim = next(s for s in servers if str(fire["address"]).endswith(f":{s.port}"))
        lock = RowLock(database, int(str(fire["id"])), until=due_s + 1.5)
        assert lock.locked.wait(5)
        time.sleep(max(due_s + 1.0 - time.time(), 0))
        victim.stop(signal.SIGKILL)  # one second after the due instant, the row still locked
        lock.join()

        def ended() -> list[object] | None:
            found = rows(database, f"SELECT status, attempt FROM instances WHERE id = {fire['id']}")
            return list(found[0]) if found and found[0]["status"] == SUCCESS else None

        status, attempt = until(ended, 30)
        attempts = Counter(
            int(a) for i, a in (line.split() for line in ran.read_text().splitlines())
            if int(i) == fire["id"]
        )  # fmt: skip
        assert attempts, "the fire never ran"
        assert max(attempts.values()) == 1, f"an attempt ran twice: {attempts}"
        assert attempt == max(attempts)  # the attempt recorded is the last that ran
    finally:
        for each in servers:
            each.stop()
