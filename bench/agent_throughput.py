"""Runs per second through one worker agent.

Starts `tickwork server --no-worker` and one `tickwork worker` agent (subprocesses, fresh
home), creates N cron jobs of a no-op Python processor firing every second, lets them fire for
a while and counts the runs recorded as successful. Every run crosses the agent's single
WebSocket (batched frames both ways, no request per run).

    .venv/bin/python bench/agent_throughput.py [--jobs 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_support import free_port, wait_until

KEY = ("bench", "bench-secret-0123456789")
NOOP = """from tickwork.processor import JobContext, ProcessResult, Processor


class Noop(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, "ok")
"""


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + "Z"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tickwork-agent-bench-"))
    (home / "tw_bench_noop.py").write_text(NOOP)
    port = free_port()
    exe = str(Path(sys.executable).with_name("tickwork"))
    env = dict(
        os.environ,
        TICKWORK_HOME=str(home),
        TICKWORK_ADMIN_KEY_ID=KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=KEY[1],
        TICKWORK_LOG_LEVEL="warning",
    )
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([exe, "server", "--port", str(port), "--no-worker"], env=env)
    agent: subprocess.Popen[bytes] | None = None
    try:
        with httpx.Client(base_url=url, auth=KEY, timeout=60) as client:
            wait_until(lambda: client.get("/healthz").status_code == 200)
            group = client.get("/api/v1/namespaces/default/groups/default").json()
            agent = subprocess.Popen(
                [
                    exe,
                    "worker",
                    "--server",
                    url,
                    "--app-key",
                    group["app_key"],
                    "--concurrency",
                    "256",
                    "--address",
                    "bench-agent:1",
                ],
                env=dict(env, PYTHONPATH=str(home)),
                stderr=subprocess.DEVNULL,
            )
            workers_path = "/api/v1/namespaces/default/groups/default/workers"
            wait_until(
                lambda: any(not w["in_process"] for w in client.get(workers_path).json()["items"])
            )
            print(f"creating {args.jobs} jobs firing every second ...", file=sys.stderr)
            ids = []
            for n in range(args.jobs):
                created = client.post(
                    "/api/v1/jobs",
                    json={
                        "name": f"noop-{n}",
                        "job_type": "processor",
                        "class_name": "tw_bench_noop:Noop",
                        "time_type": "cron",
                        "time_expression": "* * * * * ?",
                        "history_limit": 1000000,
                    },
                )
                created.raise_for_status()
                ids.append(created.json()["id"])
            window_from = (int(time.time()) + 3) * 1000
            window_to = window_from + args.seconds * 1000
            time.sleep(max(window_to / 1000 - time.time() + 2, 0))
            for job_id in ids:
                client.post(f"/api/v1/jobs/{job_id}/disable")
            time.sleep(2)
            window = {"from": iso(window_from), "to": iso(window_to), "page_size": 1}
            done = client.get("/api/v1/instances", params={**window, "status": "success"}).json()[
                "total"
            ]
            other = client.get(
                "/api/v1/instances",
                params={**window, "status": ["failed", "rejected", "running", "waiting"]},
            ).json()
            report = {
                "jobs": args.jobs,
                "seconds": args.seconds,
                "expected_runs": args.jobs * args.seconds,
                "successful_runs": done,
                "runs_per_second": round(done / args.seconds, 1),
                "not_successful": other["total"],
                "through": "one tickwork worker agent (no-op processor jobs)",
            }
            out = Path(__file__).parent / "out"
            out.mkdir(exist_ok=True)
            (out / "agent_throughput.json").write_text(json.dumps(report, indent=2))
            print(json.dumps(report, indent=2))
            return 0
    finally:
        for process in (agent, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    sys.exit(main())
