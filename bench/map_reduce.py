"""Subtasks per second of one map-reduce run spread over worker agents.

Starts `tickwork server --no-worker` and N `tickwork worker` agents (subprocesses, fresh
home), creates a grid job of examples/processors/sum_numbers.py that maps M no-op subtasks,
runs it once and reports the time from the trigger to the instance's end, the subtasks per
second, and the sum reduce returned (checked against the known sum).

    .venv/bin/python bench/map_reduce.py [--subtasks 100000] [--workers 3] [--consumers 5]
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
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "processors"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subtasks", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--consumers", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tickwork-mr-bench-"))
    port = free_port()
    exe = str(Path(sys.executable).with_name("tickwork"))
    env = dict(
        os.environ,
        TICKWORK_HOME=str(home),
        TICKWORK_ADMIN_KEY_ID=KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=KEY[1],
        TICKWORK_LOG_LEVEL="warning",
        PYTHONPATH=str(EXAMPLES),
    )
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([exe, "server", "--port", str(port), "--no-worker"], env=env)
    agents: list[subprocess.Popen[bytes]] = []
    try:
        with httpx.Client(base_url=url, auth=KEY, timeout=60) as client:
            wait_until(lambda: client.get("/healthz").status_code == 200)
            group = client.get("/api/v1/namespaces/default/groups/default").json()
            for n in range(args.workers):
                agents.append(
                    subprocess.Popen(
                        [
                            exe,
                            "worker",
                            "--server",
                            url,
                            "--app-key",
                            group["app_key"],
                            "--address",
                            f"bench-{n}:1",
                        ],
                        env=env,
                    )  # fmt: skip
                )

            def all_live() -> bool:
                items = client.get("/api/v1/namespaces/default/groups/default/workers").json()
                return len([w for w in items["items"] if not w["in_process"]]) == args.workers

            wait_until(all_live)
            job = client.post(
                "/api/v1/jobs",
                json={
                    "name": "sum", "job_type": "processor", "time_type": "api",
                    "class_name": "sum_numbers:SumNumbers", "execute_mode": "grid",
                    "parameters": str(args.subtasks), "consumer_size": args.consumers,
                    "page_size": args.page_size,
                },
            ).json()  # fmt: skip
            began = time.monotonic()
            iid = client.post(f"/api/v1/jobs/{job['id']}/run").json()["id"]
            done: dict[str, object] = {}

            def finished() -> bool:
                done.update(client.get(f"/api/v1/instances/{iid}").json())
                return done["status"] in ("success", "failed", "killed")

            wait_until(finished, within=3600, every=0.2)
            elapsed = time.monotonic() - began
    finally:
        for agent in agents:
            agent.terminate()
        for agent in agents:
            agent.wait(timeout=60)
        server.terminate()
        server.wait(timeout=60)
    result = json.loads(str(done["result"])) if done["status"] == "success" else {}
    expected = args.subtasks * (args.subtasks - 1) // 2
    print(
        json.dumps(
            {
                "subtasks": args.subtasks,
                "workers": args.workers,
                "consumers_per_worker": args.consumers,
                "status": done["status"],
                "seconds": round(elapsed, 2),
                "subtasks_per_second": round(args.subtasks / elapsed),
                "sum_correct": result.get("sum") == expected,
                "workers_used": result.get("workers"),
            }
        )
    )
    return 0 if done["status"] == "success" and result.get("sum") == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
