"""What the guardian makes of the lines its parent writes."""

from __future__ import annotations

from tickwork.worker.guardian import Watch, follow


def test_groups_started_and_not_done_with_are_left() -> None:
    lines = [b"+100\n", b"+200\n", b"-100\n", b"+300\n", b"+300\n"]
    assert follow(lines) == {200, 300}


def test_a_group_done_with_twice_or_never_started_is_no_error() -> None:
    assert follow([b"-5\n", b"+6\n", b"-6\n", b"-6\n"]) == set()


def test_garbage_and_groups_0_and_1_are_ignored() -> None:
    # killpg(0) would be the guardian's own group, group 1 is init's; no pid has 30 digits
    lines = [
        b"+0\n",
        b"+1\n",
        b"+-7\n",
        b"hello\n",
        b"+\n",
        b"*9\n",
        b"+12x\n",
        b"+" + b"9" * 30,
        b"+42",
    ]
    assert follow(lines) == {42}


def test_a_parent_may_ask_to_be_watched_for_silence() -> None:
    watch = Watch()
    watch.feed([b"+100\n", b"~2500\n", b".\n", b".\n", b"-100\n", b"+200\n"])
    assert (watch.groups, watch.silence_s) == ({200}, 2.5)
    watch.feed([b"~0\n"])
    assert watch.silence_s == 0  # watched no more
