"""What a run's log keeps, end to end through the engine, the store and the native API: each
attempt keeps at most ``run_log_max_lines``/``run_log_max_bytes``, its head and its tail, with
one line between saying what was dropped."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from runtime_support import wait_for

from tickwork.settings import Settings

TRUNCATED = "[tickwork] log truncated: "
RULE = (
    "dropped here; each attempt keeps at most 97.7 KiB or 100 lines of log, its first nine "
    "tenths and its last tenth (settings run_log_max_bytes, run_log_max_lines)"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, run_log_max_lines=100, run_log_max_bytes=100_000)


async def run(api: httpx.AsyncClient, **job: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create the job, run it once, wait for its end; the instance and its whole log."""
    body = {"name": "printer", "time_type": "api", "job_type": "shell", **job}
    created = await api.post("/api/v1/jobs", json=body)
    assert created.status_code == 201, created.text
    iid = (await api.post(f"/api/v1/jobs/{created.json()['id']}/run")).json()["id"]

    async def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = (await api.get(f"/api/v1/instances/{iid}")).json()
        return found if found["status"] in ("success", "failed") else None

    instance = await wait_for(ended, within=60)
    logs = (await api.get(f"/api/v1/instances/{iid}/logs", params={"limit": 1000})).json()
    assert logs["total"] == len(logs["items"])
    return instance, logs["items"]


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["line"] for item in items]


async def test_a_run_printing_far_past_the_cap_keeps_its_head_and_tail(
    api: httpx.AsyncClient,
) -> None:
    instance, items = await run(api, content='for n in $(seq 1 10000); do echo "line $n"; done')
    dropped = sum(len(f"line {n}\n") for n in range(91, 9991))  # 98,082 bytes
    assert texts(items) == [
        *(f"line {n}" for n in range(1, 91)),
        f"{TRUNCATED}9,900 lines (95.8 KiB) {RULE}",
        *(f"line {n}" for n in range(9991, 10001)),
    ]
    assert dropped == 98_082
    assert (instance["status"], instance["result"]) == ("success", "line 10000")
    times = [item["time"] for item in items]
    assert times == sorted(times)  # the truncation line sits where the dropping began


async def test_the_result_is_right_when_its_line_was_dropped(api: httpx.AsyncClient) -> None:
    script = 'echo "the result"\nfor n in $(seq 1 5000); do echo "noise $n" >&2; done\nexit 3'
    instance, items = await run(api, content=script)
    assert (instance["status"], instance["result"]) == ("failed", "the result")
    lines = texts(items)
    assert lines[0] == "the result"
    assert lines[90].startswith(f"{TRUNCATED}4,902 lines")
    assert lines[-2:] == ["[stderr] noise 5000", "[tickwork] exit code 3"]
    assert len(lines) == 101


async def test_long_lines_are_held_to_the_byte_cap(api: httpx.AsyncClient) -> None:
    # 2,001 bytes a line: 44 fit the head's 90,000 bytes and 4 the tail's 10,000
    script = "python3 -c 'import sys\nfor n in range(300): print(str(n).zfill(2000))'"
    _, items = await run(api, content=script)
    lines = texts(items)
    assert [int(line) for line in lines[:44]] == list(range(44))
    assert lines[44] == f"{TRUNCATED}252 lines (492.4 KiB) {RULE}"
    assert [int(line) for line in lines[45:]] == list(range(296, 300))


async def test_each_attempt_keeps_its_own_head_and_tail(api: httpx.AsyncClient) -> None:
    script = 'for n in $(seq 1 300); do echo "attempt $TICKWORK_ATTEMPT line $n"; done\nexit 1'
    instance, items = await run(api, content=script, max_attempt=1, attempt_interval=0)
    assert instance["status"] == "failed"
    for attempt in (0, 1):
        lines = [item["line"] for item in items if item["attempt"] == attempt]
        ours = [line for line in lines if not line.startswith("[tickwork] ")]
        assert ours == [f"attempt {attempt} line {n}" for n in (*range(1, 91), *range(292, 301))]
        dropped = sum(len(f"attempt {attempt} line {n}\n") for n in range(91, 292))
        assert dropped == 3_810  # 3.7 KiB
        assert f"{TRUNCATED}201 lines (3.7 KiB) {RULE}" in lines
    # the engine's own lines (the retry) are not held to the cap
    assert any(line.startswith("[tickwork] attempt 1 of 2 failed") for line in texts(items))


async def test_a_processor_logging_from_its_thread_is_cut_too(api: httpx.AsyncClient) -> None:
    instance, items = await run(
        api, job_type="processor", class_name="engine_processors:Chatty", content=""
    )
    assert (instance["status"], instance["result"]) == ("success", "talked")
    lines = texts(items)
    assert lines[:90] == [f"INFO step {n}" for n in range(1, 91)]
    assert lines[90].startswith(f"{TRUNCATED}2,900 lines")
    assert lines[91:] == [f"INFO step {n}" for n in range(2991, 3001)]


async def test_the_dropped_lines_are_counted_in_the_metrics(api: httpx.AsyncClient) -> None:
    await run(api, content="seq 1 1000")
    metrics = (await api.get("/metrics")).text
    assert 'tickwork_log_lines_dropped_total{reason="cap"} 900.0' in metrics
