"""scale, tickwork: J cron jobs of a processor, job i firing once a minute at second i % 60
(Quartz `s * * * * ?`), on the embedded default, measured over M whole minutes after a
warm-up: lateness p99/max (due instant -> start of the processor's code), missed and doubled
fires, the server's resident memory at the end and the CPU it used during the window.

    .venv/bin/python bench/tickwork/scale.py --backend sqlite|postgresql [--quick]

``--jobs 10000 --every 6`` fires as often (1,667 a second) with a tenth of the jobs to create
(Quartz `s/6 * * * * ?`): a quicker look at the rate, not at the memory of 100,000 jobs.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

from harness import SYSTEM, Server, common, stamp_fires

CHUNK = 5000  # jobs created between two checks that the server keeps up
BEHIND_S = 10  # a fire still waiting this long after its due instant: the server fell behind


def check_keeping_up(server: Server) -> None:
    """Stop with a clear failure when fires wait far past their due instant: the server no
    longer keeps up, and the run would only pile them higher (it did at 100,000 jobs)."""
    overdue = server.query(
        "SELECT count(*) AS n FROM instances WHERE status = 1 AND trigger_type = 1 "
        f"AND schedule_time < {int(time.time() * 1000) - BEHIND_S * 1000}"
    )[0]["n"]
    if overdue > 100:
        raise SystemExit(
            f"fell behind: {overdue} fires still waiting more than {BEHIND_S} s after their "
            "due instant"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--minutes", type=int)
    parser.add_argument(
        "--every", type=int, default=60, choices=[n for n in range(1, 61) if 60 % n == 0],
        help="seconds between two fires of a job (job i fires at second i %% every): the "
        "fire rate of the full run with fewer jobs to create",
    )  # fmt: skip
    args = parser.parse_args()
    jobs = args.jobs or (3000 if args.quick else 100_000)
    minutes = args.minutes or (1 if args.quick else 3)
    every = args.every
    with Server(args.backend) as server:
        common.say(f"tickwork/{server.label}: {jobs} jobs firing every {every} s, {minutes} min")
        bodies = [
            {"name": f"minute-{n}", "job_type": "processor",
             "class_name": "tw_bench_processors:Stamp", "time_type": "cron",
             "time_expression": f"{n % every}{f'/{every}' if every < 60 else ''} * * * * ?",
             "history_limit": 100}
            for n in range(jobs)
        ]  # fmt: skip
        ids: list[int] = []
        for start in range(0, jobs, CHUNK):
            ids += server.create_jobs(bodies[start : start + CHUNK])
            check_keeping_up(server)
        first = math.ceil((time.time() + 5) / 60) * 60_000  # the next whole minute, warm
        last = first + minutes * 60_000 - 1000
        while time.time() * 1000 < first:
            time.sleep(0.2)
        cpu_before = server.cpu_seconds()
        while time.time() * 1000 < last + 1000:
            common.say(f"  {(last + 1000) / 1000 - time.time():5.0f} s left")
            check_keeping_up(server)
            time.sleep(min(15.0, max(0.1, (last + 1000) / 1000 - time.time())))
        cpu = server.cpu_seconds() - cpu_before
        rss = server.rss_mib()
        time.sleep(3)  # the last fires finish and are stored
        starts = stamp_fires(server, (first, last))
    seen = Counter((job, due) for job, due, _ in starts)
    expected = {
        (job_id, due)
        for n, job_id in enumerate(ids)
        for due in range(first + (n % every) * 1000, last + 1, every * 1000)
    }
    late = [started - due for _, due, started in starts]
    missed = sum(1 for key in expected if seen[key] == 0)
    doubled = sum(v - 1 for v in seen.values() if v > 1)
    b = server.label
    common.emit(
        [
            common.row("scale", SYSTEM, b, "lateness_p99", common.percentile(late, 0.99), "ms"),
            common.row("scale", SYSTEM, b, "lateness_max", max(late, default=float("nan")), "ms"),
            common.row("scale", SYSTEM, b, "missed", missed, "count"),
            common.row("scale", SYSTEM, b, "doubled", doubled, "count"),
            common.row("scale", SYSTEM, b, "rss_mib", rss, "MiB"),
            common.row("scale", SYSTEM, b, "cpu_s", cpu, "s"),
            common.row("scale", SYSTEM, b, "jobs", jobs, "count"),
        ]
    )


if __name__ == "__main__":
    main()
