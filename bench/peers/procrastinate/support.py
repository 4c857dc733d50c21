"""What throughput.py and precision.py share: a fresh PostgreSQL database per run (created from
the admin database ``postgres``, procrastinate's schema applied with the documented
``procrastinate schema --apply``, dropped at the end even on failure) and the worker, run as
the documented CLI ``procrastinate --app=tasks.app worker`` in its own process group, stopped
(SIGTERM, then SIGKILL of the whole group) in ``finally``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402

HERE = Path(__file__).resolve().parent
PROCRASTINATE = Path(sys.executable).with_name("procrastinate")
PG = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}


def admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG["PGHOST"], port=PG["PGPORT"], user=PG["PGUSER"], dbname="postgres",
        autocommit=True,
    )  # fmt: skip


@contextlib.contextmanager
def fresh_database(extra_env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """A new database with procrastinate's schema; yields the environment (libpq variables,
    PYTHONPATH, ...) for the worker and for this process (os.environ is updated too)."""
    name = f"bench_procrastinate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, **PG, "PGDATABASE": name, **(extra_env or {})}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
        os.environ.update({k: env[k] for k in (*PG, "PGDATABASE")})
        subprocess.run(
            [str(PROCRASTINATE), "--app=tasks.app", "schema", "--apply"],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        common.say(f"database {name}: procrastinate schema applied")
        yield env
    finally:
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        common.say(f"database {name} dropped")


@contextlib.contextmanager
def worker(
    env: dict[str, str], *args: str, log_level: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``procrastinate worker`` running; stopped, with all its children, on exit. Its log
    (procrastinate's default level is INFO: two lines per job) goes to a temporary file,
    shown on failure."""
    log = tempfile.NamedTemporaryFile(prefix="procrastinate-worker-", suffix=".log")  # noqa: SIM115
    level = [f"--log-level={log_level}"] if log_level else []
    command = [str(PROCRASTINATE), "--app=tasks.app", *level, "worker", *args]
    common.say("starting:", " ".join(command[1:]))
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield process
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited early with {process.returncode}")
    except BaseException:
        log.flush()
        tail = Path(log.name).read_text(errors="replace")[-3000:]
        common.say(f"worker log (tail):\n{tail}")
        raise
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (procrastinate's graceful stop), then SIGKILL the whole process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        common.say("worker did not stop within 10 s: killing it")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children too, even if the worker is gone
    process.wait()


def worker_registered(conn: psycopg.Connection) -> bool:
    """The worker is up: it registered itself in procrastinate_workers."""
    return bool(conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0])
