"""The figures of a run, from the database (what was recorded) and the run file (what ran):
fires expected against instances per (job, second), triggers accepted against instances and
runs, lateness overall and in the 20 s after each fault, and how long each fault took to
recover from. Nothing here judges: every figure is a count or a duration."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness import common, pg_query

from faults.load import Sent
from faults.plan import Made
from faults.ran import RunFile

__all__ = ["AFTER_FAULT_MS", "Inputs", "Instance", "figures", "load_instances"]

SUCCESS, SKIPPED = 4, 12
FIRE_TYPES = {1, 5}  # trigger types of a cron fire: scheduled, system retry
FINAL = {4, 5, 6, 9, 11, 12, 99}
STATUS_NAMES = {
    1: "waiting", 2: "ready", 3: "running", 4: "success", 5: "failed", 6: "killed",
    9: "rejected", 11: "partial_failed", 12: "skipped", 99: "removed",
}  # fmt: skip
AFTER_FAULT_MS = 20_000  # "after a fault": the fires due in the 20 s from it (``_from_ms``)
LOOKBACK_MS = 3000  # ... and those due in the 3 s before it (the planning lookahead)
ON_TIME_MS = 1000  # a second has recovered when every fire of it ran at most this late
RECOVERED_SECONDS = 5  # ... and the 4 seconds after it too


@dataclass(frozen=True)
class Instance:
    id: int
    job: int
    trigger_type: int
    due: int  # schedule time, epoch ms
    status: int
    attempt: int
    started: int | None  # start_time as recorded
    result: str
    parameters: str


@dataclass(frozen=True)
class Inputs:
    window: tuple[int, int]  # the first and last due second measured, epoch ms
    cron_jobs: list[int]
    api_job: int
    sent: list[Sent]
    made: list[Made]
    runs: RunFile


def load_instances(database: str) -> list[Instance]:
    found = pg_query(
        database,
        "SELECT id, job_id, trigger_type, schedule_time, status, attempt, start_time, result, "
        "instance_parameters FROM instances",
    )
    return [
        Instance(r["id"], r["job_id"], r["trigger_type"], r["schedule_time"], r["status"],
                 r["attempt"], r["start_time"], r["result"], r["instance_parameters"])
        for r in found
    ]  # fmt: skip


def figures(inputs: Inputs, instances: list[Instance]) -> dict[str, Any]:
    # a fire is stored SCHEDULED (1), or SYSTEM_RETRY (5) once an attempt of it was lost
    fires = [i for i in instances if i.job != inputs.api_job and i.trigger_type in FIRE_TYPES]
    triggered = [i for i in instances if i.job == inputs.api_job]
    made = [m for m in inputs.made if not m.skipped]
    first_fault = min((_from_ms(m) for m in made), default=inputs.window[1])
    calm = [f for f in fires if inputs.window[0] <= f.due < first_fault]
    return {
        "fires": _fire_figures(inputs, fires),
        "before_the_first_fault": _span_figures(inputs, calm, (inputs.window[0], first_fault)),
        "triggers": _trigger_figures(inputs, triggered),
        "faults": [_fault_figures(inputs, fires, made) for made in inputs.made],
        "run_file_unreadable_lines": inputs.runs.unreadable,
    }


# -- fires -------------------------------------------------------------------------------------
def _fire_figures(inputs: Inputs, fires: list[Instance]) -> dict[str, Any]:
    first, last = inputs.window
    inside = [f for f in fires if first <= f.due <= last]
    per_pair = Counter((f.job, f.due) for f in fires)
    return {
        "expected": len(inputs.cron_jobs) * ((last - first) // 1000 + 1),
        "instances": len(inside),
        "doubled": sum(n - 1 for n in per_pair.values() if n > 1),
        **_span_figures(inputs, inside, (first, last + 1)),
        "skip_reasons": _reasons(f for f in inside if f.status == SKIPPED),
        "failure_reasons": _reasons(f for f in inside if f.status in FINAL - {SUCCESS, SKIPPED}),
        **_ran_figures(inside, inputs.runs),
        "code_lateness_ms": _stats(_code_lateness(inside, inputs.runs)),
    }


def _span_figures(
    inputs: Inputs, fires: list[Instance], span: tuple[float, float]
) -> dict[str, Any]:
    """Fires due in [span): missed (job, second) pairs, statuses, lateness as recorded."""
    every = range(inputs.window[0], inputs.window[1] + 1, 1000)
    seconds = {t for t in every if span[0] <= t < span[1]}
    present = {(f.job, f.due) for f in fires if f.due in seconds}
    late = [float(f.started - f.due) for f in fires if f.started is not None]
    return {
        "fires_due": len(inputs.cron_jobs) * len(seconds),
        "missed": len(inputs.cron_jobs) * len(seconds) - len(present),
        "skipped": sum(1 for f in fires if f.status == SKIPPED),
        "failed": sum(1 for f in fires if f.status in FINAL - {SUCCESS, SKIPPED}),
        "unfinished": sum(1 for f in fires if f.status not in FINAL),
        "statuses": dict(Counter(STATUS_NAMES.get(f.status, str(f.status)) for f in fires)),
        "later_than_1s": sum(1 for x in late if x > 1000),
        "later_than_3s": sum(1 for x in late if x > 3000),
        "lateness_ms": _stats(late),
    }


def _code_lateness(fires: list[Instance], runs: RunFile) -> list[float]:
    """From the due instant to the first start of the fire's script (the run file)."""
    starts = ((runs.first_start(f.id), f.due) for f in fires)
    return [started - due for started, due in starts if started is not None]


# -- what ran against what was recorded --------------------------------------------------------
def _ran_figures(instances: list[Instance], runs: RunFile) -> dict[str, Any]:
    twice = several = never = 0
    unsuccessful_but_ran: list[Instance] = []
    for instance in instances:
        attempts = runs.attempts(instance.id)
        twice += len(attempts) > len(set(attempts))
        several += len(set(attempts)) > 1
        never += instance.status == SUCCESS and not attempts
        if attempts and instance.status in FINAL - {SUCCESS}:
            unsuccessful_but_ran.append(instance)
    return {
        "runs": sum(len(runs.attempts(i.id)) for i in instances),
        "ran_twice_in_one_attempt": twice,
        "ran_in_several_attempts": several,
        "success_that_never_ran": never,
        "recorded_unsuccessful_but_ran": len(unsuccessful_but_ran),
        "recorded_unsuccessful_but_ran_reasons": _reasons(unsuccessful_but_ran),
    }


# -- triggers ----------------------------------------------------------------------------------
def _trigger_figures(inputs: Inputs, triggered: list[Instance]) -> dict[str, Any]:
    by_id = {i.id: i for i in triggered}
    accepted = [s for s in inputs.sent if s.instance is not None]
    refused = {s.parameters for s in inputs.sent if s.instance is None}
    stored = [by_id[s.instance] for s in accepted if s.instance in by_id]
    ran = _ran_figures(stored, inputs.runs)
    starts = [(inputs.runs.first_start(s.instance), s.sent_ms) for s in accepted if s.instance]
    return {
        "sent": len(inputs.sent),
        "accepted": len(accepted),
        "refused": dict(Counter(s.refusal for s in inputs.sent if s.refusal is not None)),
        "accepted_not_stored": len(accepted) - len(stored),
        "stored_though_refused": sum(1 for i in triggered if i.parameters in refused),
        "instances": len(triggered),
        "statuses": dict(Counter(STATUS_NAMES.get(i.status, str(i.status)) for i in stored)),
        "lost": sum(1 for i in stored if not inputs.runs.attempts(i.id)),
        **ran,
        "failure_reasons": _reasons(i for i in stored if i.status in FINAL - {SUCCESS}),
        "start_after_sending_ms": _stats([a - b for a, b in starts if a is not None]),
    }


# -- faults ------------------------------------------------------------------------------------
def _fault_figures(inputs: Inputs, fires: list[Instance], made: Made) -> dict[str, Any]:
    first = inputs.window[0]
    base: dict[str, Any] = {"fault": str(made.kind), "target": made.target}
    if made.skipped:
        return {**base, "not_made": made.skipped}
    span = (_from_ms(made), made.at_ms + AFTER_FAULT_MS)
    after = [f for f in fires if span[0] <= f.due < span[1]]
    sent = [s for s in inputs.sent if span[0] <= s.sent_ms < span[1]]
    late = _code_lateness(after, inputs.runs)
    return {
        **base,
        "at_s": _seconds(made.at_ms - first),
        "undone_at_s": None if made.back_ms is None else _seconds(made.back_ms - first),
        "ready_after_s": _gap(made.back_ms, made.ready_ms),
        **{k: round(v, 2) for k, v in made.notes.items()},
        **_span_figures(inputs, after, span),
        "triggers_sent": len(sent),
        "triggers_refused": sum(1 for s in sent if s.instance is None),
        "recovered_after_s": _recovered_after(inputs, fires, made.at_ms),
        "ran": {
            "code_lateness_ms": _stats(late),
            "later_than_1s": sum(1 for x in late if x > ON_TIME_MS),
            **_ran_figures(after, inputs.runs),
            "last_late_start_after_s": _last_late_start(inputs.runs, after, made.at_ms),
        },
    }


def _from_ms(made: Made) -> int:
    """Where "after the fault" begins: LOOKBACK_MS before the due second the fault happened
    in. Fires due a little before a fault may not have started yet (a busy server runs late;
    a killed one took its backlog with it), and what becomes of them is the fault's cost."""
    return int(made.at_ms // 1000 * 1000) - LOOKBACK_MS


def _last_late_start(runs: RunFile, fires: list[Instance], at_ms: float) -> float | None:
    """Seconds from the fault to the start of the last fire (due in the 20 s after it) that
    started over ON_TIME_MS late: when what the fault delayed had all run. None: none late."""
    starts = ((runs.first_start(f.id), f.due) for f in fires)
    late = [s for s, due in starts if s is not None and s - due > ON_TIME_MS]
    return _seconds(max(late) - at_ms) if late else None


def _recovered_after(inputs: Inputs, fires: list[Instance], at_ms: float) -> float | None:
    """Seconds from the fault to the first due second from which RECOVERED_SECONDS seconds in
    a row have every job's fire run (run file) at most ON_TIME_MS late: from then on, fires
    are on time again (those due before may still run late). None: not in the run."""
    by_second: dict[int, list[Instance]] = defaultdict(list)
    for fire in fires:
        if fire.due >= at_ms:
            by_second[fire.due].append(fire)
    streak: int | None = None
    second = math.ceil(at_ms / 1000) * 1000
    while second <= inputs.window[1]:
        if _on_time(by_second[second], len(inputs.cron_jobs), inputs.runs, second):
            streak = second if streak is None else streak
            if second - streak >= (RECOVERED_SECONDS - 1) * 1000:
                return _seconds(streak - at_ms)
        else:
            streak = None
        second += 1000
    return None


def _on_time(fires: list[Instance], jobs: int, runs: RunFile, due: int) -> bool:
    if len({f.job for f in fires}) < jobs:
        return False
    starts = [runs.first_start(f.id) for f in fires]
    return all(s is not None and s - due <= ON_TIME_MS for s in starts)


# -- small helpers -----------------------------------------------------------------------------
def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": round(common.percentile(values, 0.5), 1),
        "p99": round(common.percentile(values, 0.99), 1),
        "max": round(max(values), 1),
    }


def _reasons(instances: Iterable[Instance], top: int = 8) -> dict[str, int]:
    """The commonest results (digits as N, cut to 160 characters) and how many had each."""
    counted = Counter(re.sub(r"\d+", "N", i.result.strip())[:160] for i in instances)
    return dict(counted.most_common(top))


def _seconds(ms: float) -> float:
    return round(ms / 1000, 2)


def _gap(start_ms: float | None, end_ms: float | None) -> float | None:
    return None if start_ms is None or end_ms is None else _seconds(end_ms - start_ms)
