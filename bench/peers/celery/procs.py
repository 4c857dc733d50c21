"""Starting and stopping `celery worker` / `celery beat` subprocesses (for throughput.py and
precision.py). Each runs in its own session (process group), so stopping it ends the pool's
children too: SIGTERM (Celery's warm shutdown), then SIGKILL of the group if it lingers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import common

HERE = Path(__file__).resolve().parent


def celery_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parent)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.update(extra)
    return env


def start(args: list[str], workdir: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """``python -m celery -A tasks <args>`` in ``workdir``; output to ``log``."""
    cmd = [sys.executable, "-m", "celery", "-A", "tasks", *args, f"--logfile={log}"]
    common.say("starting:", " ".join(cmd[1:]))
    with open(log.with_suffix(".out"), "ab") as out:
        return subprocess.Popen(
            cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip


def stop(proc: subprocess.Popen | None, grace: float = 15.0) -> None:
    if proc is None:
        return
    pgid = proc.pid  # start_new_session: the leader's pid is the group's id
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        common.say(f"celery pid {proc.pid} did not stop within {grace} s: SIGKILL")
    try:
        os.killpg(pgid, signal.SIGKILL)  # a stuck leader, or pool children left behind
    except ProcessLookupError:
        pass
    proc.wait(10)


def wait_worker_ready(
    app, node: str, proc: subprocess.Popen, log: Path, within: float = 60
) -> None:
    """Until the worker answers a remote-control ping (it then consumes from its queue)."""

    def ready() -> bool:
        if proc.poll() is not None:
            output = procs_output(log)
            raise RuntimeError(f"celery worker exited ({proc.returncode}):\n{output}")
        return bool(app.control.ping(destination=[node], timeout=0.5))

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"celery worker {node} not ready within {within} s; see {log}")


def procs_output(log: Path) -> str:
    """The end of a celery process's log and of its stdout/stderr."""
    return "\n".join(filter(None, (tail(log, 15), tail(log.with_suffix(".out"), 15))))


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
