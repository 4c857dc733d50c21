"""The cut of one attempt's log: the head passes, the tail is held, the middle is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.log_cap import (
    LogCut,
    LogEnd,
    LogLimits,
    line_size,
    size_text,
    truncation_line,
)


def feed(cut: LogCut, lines: list[str]) -> list[str]:
    """Offer the lines at times 1, 2, ...; the ones passed on at once."""
    return [line for at, line in enumerate(lines, 1) if cut.offer(at, line)]


def test_the_head_passes_the_tail_is_held_and_the_middle_is_counted() -> None:
    cut = LogCut(LogLimits(max_bytes=0, max_lines=100))
    lines = [f"line {n}" for n in range(1, 10_001)]
    assert feed(cut, lines) == lines[:90]
    end = cut.end()
    assert [line for _, line in end.tail] == lines[-10:]
    assert [at for at, _ in end.tail] == list(range(9_991, 10_001))  # their own times
    assert end.dropped_lines == 9_900
    assert end.dropped_bytes == sum(len(line) + 1 for line in lines[90:-10])
    assert end.dropped_at == 91  # the first line left out of the head


def test_a_log_within_the_bound_keeps_every_line() -> None:
    cut = LogCut(LogLimits(max_bytes=0, max_lines=100))
    lines = [str(n) for n in range(95)]
    assert feed(cut, lines) == lines[:90]
    end = cut.end()
    assert [line for _, line in end.tail] == lines[90:]
    assert end.dropped_lines == 0


def test_bytes_are_the_utf8_text_and_its_line_break() -> None:
    assert line_size("abc") == 4
    assert line_size("é") == 3
    assert line_size("日本") == 7
    assert line_size("\udcff") == 4  # a lone surrogate (undecodable byte) does not raise
    # 1,000 bytes: a head of 900 and a tail of 100
    cut = LogCut(LogLimits(max_bytes=1_000, max_lines=0))
    lines = ["é" * 49] * 20  # 99 bytes each: 9 fit in the head
    assert len(feed(cut, lines)) == 9
    end = cut.end()
    assert len(end.tail) == 1  # 99 of the tail's 100 bytes
    assert (end.dropped_lines, end.dropped_bytes) == (10, 990)


def test_the_head_stays_one_piece() -> None:
    cut = LogCut(LogLimits(max_bytes=1_000, max_lines=0))
    assert cut.offer(1, "x" * 800)
    assert not cut.offer(2, "y" * 200)  # does not fit what is left of the head (99 bytes)
    assert not cut.head_open
    assert not cut.offer(3, "z")  # would fit, but would join the head after a gap
    end = cut.end()
    assert [line for _, line in end.tail] == ["z"]
    assert (end.dropped_lines, end.dropped_bytes) == (1, 201)


def test_a_bound_too_small_for_a_tail_keeps_only_the_head() -> None:
    cut = LogCut(LogLimits(max_bytes=0, max_lines=5))
    assert feed(cut, [str(n) for n in range(8)]) == ["0", "1", "2", "3", "4"]
    end = cut.end()
    assert (end.tail, end.dropped_lines) == ([], 3)


def test_a_line_larger_than_the_tail_is_dropped_with_what_it_pushed_out() -> None:
    cut = LogCut(LogLimits(max_bytes=100, max_lines=0))  # head 90 bytes, tail 10
    assert cut.offer(1, "a" * 89)
    assert not cut.offer(2, "b" * 4)
    assert not cut.offer(3, "c" * 20)  # 21 bytes: more than the whole tail
    end = cut.end()
    assert end.tail == []
    assert (end.dropped_lines, end.dropped_bytes) == (2, 26)


def test_lines_a_worker_dropped_add_to_the_count() -> None:
    cut = LogCut(LogLimits(max_bytes=0, max_lines=10))
    feed(cut, [str(n) for n in range(12)])  # 9 in the head, 1 in the tail: "9" and "10" out
    cut.add_dropped(1_000, 5_000)
    cut.add_dropped(-3, 7)  # nonsense from a worker counts nothing
    end = cut.end()
    assert (end.dropped_lines, end.dropped_bytes) == (1_002, 5_005)


def test_limits_of_zero_bound_nothing_and_negative_ones_are_refused() -> None:
    assert not LogLimits(0, 0).bounded
    assert LogLimits(0, 1).bounded and LogLimits(1, 0).bounded
    cut = LogCut(LogLimits(max_bytes=0, max_lines=0))
    assert feed(cut, ["x" * 10_000] * 1_000) == ["x" * 10_000] * 1_000
    with pytest.raises(InvalidParameter) as refused:
        LogLimits(max_bytes=-1)
    assert refused.value.field == "run_log_max_bytes"
    with pytest.raises(InvalidParameter) as refused:
        LogLimits(max_lines=True)
    assert refused.value.field == "run_log_max_lines"


def test_the_truncation_line_says_what_was_dropped_and_the_rule() -> None:
    end = LogEnd(tail=[], dropped_lines=1_234_567, dropped_bytes=199_544_832, dropped_at=1)
    assert truncation_line(end, LogLimits()) == (
        "[tickwork] log truncated: 1,234,567 lines (190.3 MiB) dropped here; each attempt "
        "keeps at most 10 MiB or 100,000 lines of log, its first nine tenths and its last "
        "tenth (settings run_log_max_bytes, run_log_max_lines)"
    )
    one = LogEnd(tail=[], dropped_lines=1, dropped_bytes=1, dropped_at=1)
    assert "1 line (1 byte) dropped" in truncation_line(one, LogLimits(0, 20))
    assert "at most 20 lines of log" in truncation_line(one, LogLimits(0, 20))


def test_sizes_read_as_people_write_them() -> None:
    assert size_text(0) == "0 bytes"
    assert size_text(1023) == "1,023 bytes"
    assert size_text(1024) == "1 KiB"
    assert size_text(1536) == "1.5 KiB"
    assert size_text(10 * 1024 * 1024) == "10 MiB"
    assert size_text(3 * 1024**4) == "3,072 GiB"


def test_docs_show_the_truncation_line_as_it_is_written() -> None:
    doc = Path(__file__).parents[3] / "docs" / "jobs.md"
    end = LogEnd(tail=[], dropped_lines=1_234_567, dropped_bytes=199_544_832, dropped_at=1)
    assert f"\n{truncation_line(end, LogLimits())}\n" in doc.read_text()
