"""The figures of a run as markdown: the fires and the triggers (a figure a line), one line per
fault (the 20 s after it), and the reasons recorded for skips and failures."""

from __future__ import annotations

from typing import Any

__all__ = ["markdown"]

FIRE_LINES = (
    ("fires expected (jobs x seconds)", "expected"),
    ("instances of them", "instances"),
    ("missed (no instance)", "missed"),
    ("doubled (two instances of one fire)", "doubled"),
    ("skipped", "skipped"),
    ("failed (any unsuccessful end)", "failed"),
    ("unfinished at the end", "unfinished"),
    ("ran twice in one attempt (run file)", "ran_twice_in_one_attempt"),
    ("recorded unsuccessful but ran (run file)", "recorded_unsuccessful_but_ran"),
    ("recorded success but never ran", "success_that_never_ran"),
    ("later than 1 s / 3 s", ("later_than_1s", "later_than_3s")),
)
TRIGGER_LINES = (
    ("sent", "sent"),
    ("accepted", "accepted"),
    ("refused", "refused"),
    ("accepted, not stored", "accepted_not_stored"),
    ("refused (or unanswered), stored all the same", "stored_though_refused"),
    ("accepted, never ran (lost)", "lost"),
    ("ran twice in one attempt", "ran_twice_in_one_attempt"),
    ("ran in several attempts", "ran_in_several_attempts"),
    ("recorded unsuccessful but ran", "recorded_unsuccessful_but_ran"),
    ("statuses", "statuses"),
)
FIRE_STATS = (
    ("lateness p50 / p99 / max (ms, recorded start)", "lateness_ms"),
    ("lateness p50 / p99 / max (ms, script start)", "code_lateness_ms"),
)
TRIGGER_STATS = (("sent to script start p50 / p99 / max (ms)", "start_after_sending_ms"),)
FAULT_COLUMNS = (
    "fault", "target", "at (s)", "ready after (s)", "fires due", "missed", "skipped", "failed",
    "late > 1 s", "late > 3 s", "p50 (ms)", "p99 (ms)", "max (ms)", "triggers refused",
    "on time again after (s)",
)  # fmt: skip
RAN_COLUMNS = (
    "fault", "target", "script late > 1 s", "script p50 (ms)", "script p99 (ms)",
    "script max (ms)", "ran twice in one attempt", "recorded unsuccessful but ran",
    "last late start after (s)",
)  # fmt: skip


def markdown(title: str, result: dict[str, Any]) -> str:
    found = result["figures"]
    parts = [title, ""]
    parts += _lines("Fires", found["fires"], FIRE_LINES, FIRE_STATS)
    parts += _lines("API triggers", found["triggers"], TRIGGER_LINES, TRIGGER_STATS)
    parts += _faults(found)
    parts += _ran_after_faults(found)
    parts += _reasons("Why fires were skipped", found["fires"]["skip_reasons"])
    parts += _reasons("Why fires failed", found["fires"]["failure_reasons"])
    misrecorded = found["fires"]["recorded_unsuccessful_but_ran_reasons"]
    parts += _reasons("Fires recorded unsuccessful that ran", misrecorded)
    parts += _reasons("Why triggered runs failed", found["triggers"]["failure_reasons"])
    return "\n".join(parts) + "\n"


def _lines(
    title: str,
    found: dict[str, Any],
    lines: tuple[tuple[str, Any], ...],
    stats: tuple[tuple[str, str], ...],
) -> list[str]:
    out = [f"#### {title}", "", "| figure | value |", "|---|---:|"]
    for label, key in lines:
        value = " / ".join(_cell(found[k]) for k in key) if isinstance(key, tuple) else found[key]
        out.append(f"| {label} | {_cell(value)} |")
    out += [f"| {label} | {_triple(found[key])} |" for label, key in stats]
    return [*out, ""]


def _faults(found: dict[str, Any]) -> list[str]:
    out = ["#### Fires due from 3 s before each fault to 20 s after it", ""]
    out.append("| " + " | ".join(FAULT_COLUMNS) + " |")
    out.append("|---|---|" + "---:|" * (len(FAULT_COLUMNS) - 2))
    calm = found["before_the_first_fault"]
    out.append(_fault_row({"fault": "(before the first fault)", "target": "", **calm}))
    for fault in found["faults"]:
        if "not_made" in fault:
            blank = " |" * (len(FAULT_COLUMNS) - 2)
            out.append(f"| {fault['fault']} | not made: {fault['not_made']} |{blank}")
        else:
            out.append(_fault_row(fault))
    return [*out, ""]


def _ran_after_faults(found: dict[str, Any]) -> list[str]:
    out = ["#### What ran of those fires (run file)", ""]
    out.append("| " + " | ".join(RAN_COLUMNS) + " |")
    out.append("|---|---|" + "---:|" * (len(RAN_COLUMNS) - 2))
    for fault in found["faults"]:
        if "ran" not in fault:
            continue
        ran, late = fault["ran"], fault["ran"]["code_lateness_ms"]
        cells = (
            fault["fault"], fault["target"], ran["later_than_1s"], late["p50"], late["p99"],
            late["max"], ran["ran_twice_in_one_attempt"], ran["recorded_unsuccessful_but_ran"],
            ran["last_late_start_after_s"],
        )  # fmt: skip
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*out, ""]


def _fault_row(fault: dict[str, Any]) -> str:
    late = fault["lateness_ms"]
    cells = (
        fault["fault"], _target(fault), fault.get("at_s"), fault.get("ready_after_s"),
        fault["fires_due"], fault["missed"], fault["skipped"], fault["failed"],
        fault["later_than_1s"], fault["later_than_3s"], late["p50"], late["p99"], late["max"],
        fault.get("triggers_refused"), _recovery(fault),
    )  # fmt: skip
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _target(fault: dict[str, Any]) -> str:
    """The target, and for a SIGTERM how long the server took to exit."""
    if "stop_s" not in fault:
        return str(fault["target"])
    killed = ", then SIGKILLed" if fault.get("stop_killed") else ""
    return f"{fault['target']} (exited {fault['stop_s']:.1f} s after SIGTERM{killed})"


def _recovery(fault: dict[str, Any]) -> Any:
    if "recovered_after_s" not in fault:
        return None
    recovered = fault["recovered_after_s"]
    return "not in the run" if recovered is None else recovered


def _reasons(title: str, reasons: dict[str, int]) -> list[str]:
    if not reasons:
        return []
    return [f"{title}:", "", *(f"- {n} x `{why}`" for why, n in reasons.items()), ""]


def _triple(stats: dict[str, Any]) -> str:
    return " / ".join(_cell(stats[k]) for k in ("p50", "p99", "max"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "0"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
