"""throughput, tickwork: R runs of an API-only job triggered through the native API
(``POST /api/v1/jobs/{id}/run``, 32 keep-alive connections from one client, spread over the
servers), run by the embedded default's in-process worker; runs/s from the first trigger to
the last final status stored.
The job is a no-op processor, or with --shell a shell job running ``true``.

    .venv/bin/python bench/tickwork/throughput.py --backend sqlite|postgresql [--quick] [--shell]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from harness import SYSTEM, Server, basic_auth, common, post_many

IN_FLIGHT = 32
FINAL = "(4, 5, 6, 9, 11, 12, 99)"


async def trigger(ports: list[int], job_id: int, runs: int) -> float:
    """Send the triggers; the epoch ms of the first."""
    first = time.time() * 1000
    answers = await post_many(
        ports,
        f"/api/v1/jobs/{job_id}/run",
        (b"{}" for _ in range(runs)),
        IN_FLIGHT,
        {"Authorization": basic_auth(), "Content-Type": "application/json"},
    )
    refused = [a for a in answers if a[0] != 201]
    if refused:
        raise SystemExit(f"{len(refused)} triggers refused, e.g. {refused[0][1][:200]!r}")
    common.say(f"  {runs} triggers accepted in {(time.time() * 1000 - first) / 1000:.1f} s")
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shell", action="store_true")
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    runs = args.runs or (2000 if args.quick else 20000)
    scenario = "throughput_shell" if args.shell else "throughput"
    job = (
        {"job_type": "shell", "content": "true"}
        if args.shell
        else {"job_type": "processor", "class_name": "tw_bench_processors:Noop"}
    )
    with Server(args.backend) as server:
        (job_id,) = server.create_jobs(
            [{"name": "throughput", "time_type": "api", "history_limit": 1_000_000, **job}]
        )
        common.say(f"tickwork/{server.label}: {runs} runs of a {scenario} job")
        cpu = server.cpu_seconds()
        client_cpu = time.process_time()
        first = asyncio.run(trigger(server.ports, job_id, runs))
        count = f"SELECT count(*) AS n FROM instances WHERE job_id = {job_id} AND status IN {FINAL}"
        common.wait_until(lambda: server.query(count)[0]["n"] >= runs, within=1800, every=0.5)
        found = server.query(
            f"SELECT max(end_time) AS last, sum(CASE WHEN status = 4 THEN 1 ELSE 0 END) AS ok "
            f"FROM instances WHERE job_id = {job_id}"
        )[0]
        cpu = server.cpu_seconds() - cpu
        common.say(
            f"  server CPU {cpu:.1f} s ({cpu / runs * 1000:.2f} ms a run), "
            f"client CPU {time.process_time() - client_cpu:.1f} s"
        )
    seconds = (found["last"] - first) / 1000
    common.say(f"  {found['ok']} of {runs} succeeded in {seconds:.1f} s")
    common.emit(
        [
            common.row(scenario, SYSTEM, server.label, "runs_per_s", runs / seconds, "runs/s"),
            common.row(scenario, SYSTEM, server.label, "runs", runs, "count"),
            common.row(scenario, SYSTEM, server.label, "failed", runs - found["ok"], "count"),
        ]
    )


if __name__ == "__main__":
    main()
