"""``make failover``: what a dead, stopped or restarting server (or agent, or PostgreSQL) costs
(issue 21). It measures; it does not judge: it exits non-zero only when it could not measure.

Three ``tickwork server`` processes on a fresh PostgreSQL database (127.0.0.1:5432), with
in-process workers or (``--agents``) with ``--no-worker`` and two ``tickwork worker`` agents;
300 shell jobs firing every second and 20 API triggers a second sent round robin to the
servers, while faults are made (bench/faults/plan.py): a server SIGKILLed and started again
30 s later, then another one, a SIGTERM restart of the busiest server, a PostgreSQL restart
(root only; ``--no-pg-restart`` to leave it alone, the default of ``--quick``) and, with
agents, one agent frozen 15 s (SIGSTOP, SIGCONT). Every run appends its instance, attempt and
start instant to a run file, so what really ran is told from what was recorded.

    .venv/bin/python bench/failover.py [--agents] [--quick] [--[no-]pg-restart] [--jobs 300]
                                       [--triggers 20] [--keep]

Writes ``bench/out/failover.json`` (``failover-agents.json``) and a markdown table
(``.md``, printed too); docs/multi-server.md ("Measured faults") says what each figure means.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH / "tickwork"))

from faults.cluster import Cluster  # noqa: E402
from faults.figures import Inputs, Instance, figures, load_instances  # noqa: E402
from faults.load import Triggers, api_job, cron_jobs  # noqa: E402
from faults.plan import Plan, make_faults, pg_restart_refusal  # noqa: E402
from faults.ran import RunFile, read_runs  # noqa: E402
from faults.report import markdown  # noqa: E402
from harness import common, create_jobs, pg_query  # noqa: E402

WARM_UP_S = 5.0
DRAIN_S = 120.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", action="store_true", help="--no-worker servers, two agents")
    parser.add_argument("--quick", action="store_true", help="faults 15 s apart, about 2 min")
    parser.add_argument(
        "--pg-restart",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="restart PostgreSQL (default: yes, but not with --quick)",
    )
    parser.add_argument("--jobs", type=int, default=300, help="shell jobs firing every second")
    parser.add_argument("--triggers", type=float, default=20.0, help="API triggers a second")
    parser.add_argument("--keep", action="store_true", help="keep the logs, run file, database")
    parser.add_argument("--log-level", default="warning", help="the servers' (info: more)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = Plan.of(args.quick, args.agents)
    wanted = args.pg_restart if args.pg_restart is not None else not args.quick
    pg_refusal = pg_restart_refusal(wanted)
    root = Path(tempfile.mkdtemp(prefix="tickwork-failover-"))
    began = time.time()
    mode = "agents" if args.agents else "in-process workers"
    common.say(f"failover ({mode}, {'quick' if args.quick else 'full'}): {root}")
    if pg_refusal:
        common.say(f"  the PostgreSQL restart is skipped: {pg_refusal}")
    try:
        agents = 2 if args.agents else 0
        cluster = Cluster(root, 3, agents, keep_database=args.keep, log_level=args.log_level)
        with cluster:
            inputs, instances = measure(cluster, args, plan, pg_refusal, root / "ran.txt")
        # read once every process has stopped: no run is still writing
        inputs = dataclasses.replace(inputs, runs=read_runs(root / "ran.txt"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result = {
        "mode": mode,
        "quick": args.quick,
        "command": " ".join(["bench/failover.py", *sys.argv[1:]]),
        "machine": f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(began)),
        "took_min": round((time.time() - began) / 60, 1),
        "jobs": args.jobs,
        "triggers_per_second": args.triggers,
        "window": {"first_ms": inputs.window[0], "seconds": plan.seconds},
        "plan": [{"fault": str(f.kind), "at_s": f.at_s, "back_after_s": f.back_after_s}
                 for f in plan.faults],
        "pg_restart": pg_refusal or "made",
        "figures": figures(inputs, instances),
    }  # fmt: skip
    write(result, "failover-agents" if args.agents else "failover")
    return 0


def measure(
    cluster: Cluster, args: argparse.Namespace, plan: Plan, pg_refusal: str | None, run_file: Path
) -> tuple[Inputs, list[Instance]]:
    """Create the load, make the faults, stop the load, wait for every run to end; what the
    figures are made of but the run file."""
    ports = [s.port for s in cluster.servers]
    cron_ids = create_jobs(ports, cron_jobs(args.jobs, run_file))
    (api_id,) = create_jobs(ports, [api_job(run_file)])
    first = common.next_whole_second(after_s=WARM_UP_S)
    last = first + (int(plan.seconds) - 1) * 1000  # the last due second measured
    triggers = Triggers([s.url for s in cluster.servers], api_id, args.triggers)
    time.sleep(max(first / 1000 - time.time(), 0))
    triggers.start()
    try:
        made = make_faults(cluster, plan, first, pg_refusal)
        time.sleep(max(last / 1000 + 1 - time.time(), 0))
    finally:
        sent = triggers.stop()
    common.say(f"  {len(sent)} triggers sent; disabling the jobs and waiting for every run")
    with cluster.api(0) as api:
        for job_id in cron_ids:
            disable(api, job_id)
    left = drain(cluster.database)
    common.say(f"  {left} instances unfinished after {DRAIN_S:.0f} s" if left else "  drained")
    inputs = Inputs((first, last), cron_ids, api_id, sent, made, RunFile({}, 0))
    return inputs, load_instances(cluster.database)


def disable(api: httpx.Client, job_id: int) -> None:
    """Disable a job, waiting out a refusal that says to come back (503, Retry-After: the
    server is busy or stopping after the faults) for up to a minute."""
    deadline = time.monotonic() + 60
    while True:
        answer = api.post(f"/api/v1/jobs/{job_id}/disable")
        if answer.status_code != 503 or time.monotonic() > deadline:
            if answer.is_error:
                common.say(f"  disabling job {job_id}: {answer.status_code} {answer.text[:300]}")
            answer.raise_for_status()
            return
        common.say(f"  disabling job {job_id}: 503 {answer.text[:200]}; again in a moment")
        time.sleep(float(answer.headers.get("Retry-After", "1")))


def drain(database: str) -> int:
    """Wait (up to DRAIN_S) until every instance has ended; how many have not."""
    sql = "SELECT count(*) AS n FROM instances WHERE status NOT IN (4, 5, 6, 9, 11, 12, 99)"
    deadline = time.monotonic() + DRAIN_S
    while (left := int(pg_query(database, sql)[0]["n"])) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def write(result: dict[str, Any], name: str) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    title = (
        f"{result['machine']}; {result['mode']}, {'QUICK' if result['quick'] else 'full'} run "
        f"of {result['took_min']} min, {result['date']}; PostgreSQL restart: "
        f"{result['pg_restart']}; `{result['command']}`"
    )
    text = markdown(title, result)
    (OUT / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
