"""A server's or agent's secrets do not reach the jobs it runs through the environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tickwork.process_secrets import clear_tickwork_environment, inherited_environment


def test_a_run_inherits_no_tickwork_variable_nor_the_database_password() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/tw",
        "TICKWORK_ADMIN_KEY_ID": "admin",
        "TICKWORK_ADMIN_KEY_SECRET": "s3cret",
        "TICKWORK_DATABASE_URL": "postgresql://tw:pw@db/tickwork",
        "TICKWORK_APP_KEY": "app-key",
        "TICKWORK_JOB_ID": "7",  # a run variable of the run that started this agent
        "PGPASSWORD": "pw",
        "PGHOST": "db",
        "MY_TICKWORK_NOTE": "kept: not a tickwork variable",
    }
    assert inherited_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/tw",
        "PGHOST": "db",
        "MY_TICKWORK_NOTE": "kept: not a tickwork variable",
    }


def test_the_process_environment_loses_its_tickwork_variables() -> None:
    environ = {"TICKWORK_ADMIN_KEY_SECRET": "s3cret", "TICKWORK_HOME": "/x", "LANG": "C"}
    removed = clear_tickwork_environment(environ)
    assert sorted(removed) == ["TICKWORK_ADMIN_KEY_SECRET", "TICKWORK_HOME"]
    assert environ == {"LANG": "C"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_withholding_secrets_makes_the_process_non_dumpable() -> None:
    # In a process of its own: it changes the whole process.
    script = textwrap.dedent(
        """
        import ctypes, os
        from tickwork.process_secrets import withhold_secrets
        os.environ["TICKWORK_ADMIN_KEY_SECRET"] = "s3cret"
        libc = ctypes.CDLL(None)
        before = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
        withhold_secrets()
        after = libc.prctl(3, 0, 0, 0, 0)
        print(before, after, "TICKWORK_ADMIN_KEY_SECRET" in os.environ)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["1", "0", "False"]
