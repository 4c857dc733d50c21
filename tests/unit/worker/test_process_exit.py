"""How the end of a subprocess is described."""

from __future__ import annotations

import signal

from tickwork.worker.executors.process import describe_exit
from tickwork.worker.process_tree import group_members


def test_describe_exit() -> None:
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(2) == "exit code 2"
    assert describe_exit(-signal.SIGTERM) == "killed by signal SIGTERM"
    assert describe_exit(-200) == "killed by signal 200"


def test_a_group_nobody_is_in_has_no_members() -> None:
    assert group_members(2**22 + 12345) == []
