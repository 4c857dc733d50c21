"""Fire lateness of the embedded default: N shell jobs firing every second for D seconds.

Starts `tickwork server` (SQLite, in-process worker) as a subprocess in a fresh home, creates
the jobs through the native API, waits, stops the jobs, and reads every instance back. Each
job's script prints bash's $EPOCHREALTIME as its first act, so lateness is measured from the
due instant (the instance's schedule time) to the moment the job's process runs, not to when
the server thought it released it.

    .venv/bin/python bench/lateness.py [--jobs 200] [--seconds 60] [--db URL]

Prints p50/p99/max lateness, and fires missed or doubled, and writes bench/out/lateness.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_support import free_port

KEY_ID, SECRET = "bench", "bench-secret-0123456789"


def parse_ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--db", default="", help="database URL (default: SQLite in a tmp home)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="tickwork-bench-")
    port = free_port()
    env = dict(
        os.environ,
        TICKWORK_HOME=home,
        TICKWORK_ADMIN_KEY_ID=KEY_ID,
        TICKWORK_ADMIN_KEY_SECRET=SECRET,
        TICKWORK_LOG_LEVEL="warning",
    )
    if args.db:
        env["TICKWORK_DATABASE_URL"] = args.db
    exe = Path(sys.executable).with_name("tickwork")
    server = subprocess.Popen([str(exe), "server", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, auth=(KEY_ID, SECRET), timeout=30)
    try:
        for _ in range(200):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            print("server did not start", file=sys.stderr)
            return 1
        print(f"creating {args.jobs} jobs firing every second ...", file=sys.stderr)
        ids = []
        for n in range(args.jobs):
            r = client.post(
                "/api/v1/jobs",
                json={
                    "name": f"bench-{n}",
                    "job_type": "shell",
                    "content": "echo $EPOCHREALTIME",
                    "time_type": "cron",
                    "time_expression": "* * * * * ?",
                    "history_limit": 100000,
                },
            )
            r.raise_for_status()
            ids.append(r.json()["id"])
        start = time.time()
        window_from = (int(start) + 2) * 1000  # whole seconds fully inside the run
        window_to = window_from + args.seconds * 1000
        while time.time() * 1000 < window_to + 500:
            left = window_to / 1000 - time.time()
            print(f"  running: {max(left, 0):5.1f} s left", file=sys.stderr, end="\r")
            time.sleep(1)
        print(file=sys.stderr)
        for job_id in ids:
            client.post(f"/api/v1/jobs/{job_id}/disable").raise_for_status()
        time.sleep(2)
        lateness: list[float] = []
        missed = doubled = unfinished = failed = 0
        for job_id in ids:
            seen: dict[int, int] = {}
            page = 1
            while True:
                r = client.get(
                    "/api/v1/instances",
                    params={
                        "job_id": job_id,
                        "page": page,
                        "page_size": 1000,
                        "from": datetime.fromtimestamp(window_from / 1000, UTC).isoformat(),
                        "to": datetime.fromtimestamp(window_to / 1000, UTC).isoformat(),
                    },
                )
                r.raise_for_status()
                body = r.json()
                for inst in body["items"]:
                    due = parse_ms(inst["schedule_time"])
                    seen[due] = seen.get(due, 0) + 1
                    if inst["status"] != "success":
                        if inst["status"] in ("running", "waiting"):
                            unfinished += 1
                        else:
                            failed += 1
                        continue
                    started = float(inst["result"]) * 1000
                    lateness.append(started - due)
                if page * 1000 >= body["total"]:
                    break
                page += 1
            for second in range(window_from, window_to, 1000):
                count = seen.get(second, 0)
                missed += count == 0
                doubled += max(count - 1, 0)
        report = {
            "jobs": args.jobs,
            "seconds": args.seconds,
            "fires": len(lateness),
            "lateness_ms": {
                "p50": round(statistics.median(lateness), 2),
                "p99": round(percentile(lateness, 0.99), 2),
                "max": round(max(lateness), 2),
            },
            "missed": missed,
            "doubled": doubled,
            "failed_or_rejected": failed,
            "unfinished": unfinished,
            "database": args.db or "sqlite (embedded default)",
        }
        out = Path(__file__).parent / "out"
        out.mkdir(exist_ok=True)
        (out / "lateness.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return 0
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
