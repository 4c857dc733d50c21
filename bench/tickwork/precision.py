"""precision, tickwork: N jobs of a processor firing every second (Quartz `* * * * * ?`) for S
seconds on the embedded default (in-process worker); lateness from the due instant to the
start of the processor's code (the processor returns that instant as its result).

    .venv/bin/python bench/tickwork/precision.py --backend sqlite|postgresql [--quick]
"""

from __future__ import annotations

import argparse
import time

from harness import SYSTEM, Server, common, stamp_fires


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--seconds", type=int)
    args = parser.parse_args()
    jobs = args.jobs or (100 if args.quick else 1000)
    seconds = args.seconds or (10 if args.quick else 60)
    with Server(args.backend) as server:
        common.say(f"tickwork/{server.label}: {jobs} jobs firing every second for {seconds} s")
        ids = server.create_jobs(
            [
                {"name": f"tick-{n}", "job_type": "processor",
                 "class_name": "tw_bench_processors:Stamp", "time_type": "cron",
                 "time_expression": "* * * * * ?", "history_limit": 1_000_000}
                for n in range(jobs)
            ]
        )  # fmt: skip
        first = common.next_whole_second(after_s=3)  # warm-up: every job exists and fires
        last = first + (seconds - 1) * 1000
        while time.time() * 1000 < last + 2000:
            time.sleep(0.5)
        for job_id in ids:
            server.api.post(f"/api/v1/jobs/{job_id}/disable").raise_for_status()
        starts = stamp_fires(server, (first, last))
    common.emit(
        common.precision_rows("precision", SYSTEM, server.label, starts, ids, (first, last))
    )


if __name__ == "__main__":
    main()
