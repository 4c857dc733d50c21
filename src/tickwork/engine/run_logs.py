"""The cap on what each attempt of a run keeps in its log, for every worker.

Every line a worker reports (the in-process worker, or an agent over its WebSocket) comes
through here on its way to the batch writer; the cut (``domain/log_cap.py``) decides at once
whether it is part of the attempt's head (queued for writing now), of its tail (held until the
attempt ends) or dropped (counted). When the attempt ends, one truncation line saying what was
dropped goes in between the head and the tail. A worker agent may cut its own copy first (to
send less); what it says it dropped only adds to the count. A counter per attempt, no query
per line.

Lines the engine writes itself (``[tickwork] ...`` about retries, timeouts, lost workers) do
not come through here: they are few, and they say what happened to the run.
"""

from __future__ import annotations

from tickwork.clock import now_ms
from tickwork.domain.log_cap import LogCut, LogLimits, truncation_line
from tickwork.domain.models import LogLine
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.writer import BatchWriter

__all__ = ["RunLogs"]


class RunLogs:
    def __init__(self, writer: BatchWriter, metrics: EngineMetrics, limits: LogLimits) -> None:
        self._writer = writer
        self._metrics = metrics
        self.limits = limits
        self._bounded = limits.bounded

    def line(
        self, cut: LogCut | None, instance_id: int, attempt: int, at: int, line: str
    ) -> LogCut | None:
        """A line of a running attempt whose cut so far is ``cut`` (None before its first
        line); the attempt's cut from now on (None when logs are not bounded)."""
        if self._bounded:
            if cut is None:
                cut = LogCut(self.limits)
            if not cut.offer(at, line):
                return cut
        self._writer.log(LogLine(instance_id=instance_id, time=at, line=line, attempt=attempt))
        return cut

    def end(
        self,
        cut: LogCut | None,
        instance_id: int,
        attempt: int,
        dropped_lines: int = 0,
        dropped_bytes: int = 0,
    ) -> None:
        """The attempt ended: the truncation line if anything was dropped (here, or by the
        worker: ``dropped_*``), then the tail."""
        if cut is None:
            if dropped_lines <= 0:
                return
            cut = LogCut(self.limits)  # every line was cut by the worker; count what it said
        cut.add_dropped(dropped_lines, dropped_bytes)
        end = cut.end()
        if end.dropped_lines:
            self._metrics.log_lines_dropped.labels(reason="cap").inc(end.dropped_lines)
            at = end.dropped_at or (end.tail[0][0] if end.tail else now_ms())
            self._writer.log(
                LogLine(instance_id, at, truncation_line(end, self.limits), attempt=attempt)
            )
        for at, text in end.tail:
            self._writer.log(LogLine(instance_id, at, text, attempt=attempt))

    def stray(self) -> None:
        """A line of an attempt that is not running here (it ended, or another server holds
        it): dropped, as nothing may grow a log once its attempt is over."""
        self._metrics.log_lines_dropped.labels(reason="ended").inc()
