"""Processor classes of the distributed-mode tests (``mode_processors:Name``)."""

from __future__ import annotations

import json
import os

from tickwork.domain.enums import InstanceStatus
from tickwork.processor import JobContext, MapReduceProcessor, Processor, ProcessResult


class SumOfNumbers(MapReduceProcessor):
    """Maps ``range(N)`` (N = the job's parameters) and adds the numbers up in reduce."""

    def process(self, ctx: JobContext) -> ProcessResult:
        if ctx.is_root_task:
            return self.map([{"n": n} for n in range(int(ctx.job_parameters))], "Number")
        return ProcessResult(True, str(ctx.task["n"]))

    def reduce(self, ctx: JobContext) -> ProcessResult:
        total = sum(int(r) for t, r in ctx.task_results.items() if ctx.task_statuses[t] == 4)
        failed = sum(1 for s in ctx.task_statuses.values() if s != InstanceStatus.SUCCESS)
        return ProcessResult(True, json.dumps({"sum": total, "failed": failed}))


class NestedSum(MapReduceProcessor):
    """Root maps 10 chunks; each chunk maps its 10 numbers; reduce adds the numbers."""

    def process(self, ctx: JobContext) -> ProcessResult:
        if ctx.is_root_task:
            return self.map([{"chunk": c} for c in range(10)], "Chunk")
        if ctx.task_name == "Chunk":
            base = ctx.task["chunk"] * 10
            self.map([base + i for i in range(10)], "Number")
            return ProcessResult(True, "0")
        return ProcessResult(True, str(ctx.task))

    def reduce(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, str(sum(int(r) for r in ctx.task_results.values())))


class FlakyNumbers(MapReduceProcessor):
    """Every tenth number fails on its first try."""

    def process(self, ctx: JobContext) -> ProcessResult:
        if ctx.is_root_task:
            return self.map(list(range(50)), "Number")
        if ctx.task % 10 == 0 and ctx.task_attempt == 0:
            return ProcessResult(False, f"{ctx.task} failed once")
        return ProcessResult(True, str(ctx.task))

    def reduce(self, ctx: JobContext) -> ProcessResult:
        failed = sorted(t for t, s in ctx.task_statuses.items() if s != InstanceStatus.SUCCESS)
        return ProcessResult(True, f"failed tasks: {failed}")


class MapsSomethingOdd(MapReduceProcessor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return self.map([object()], "Odd")

    def reduce(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, "never")


class EveryWorker(Processor):
    """Logs each of its methods; the result names the worker's process."""

    def pre_process(self, ctx: JobContext) -> None:
        ctx.logger.info("pre_process once")

    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, f"pid {os.getpid()}")

    def post_process(self, ctx: JobContext) -> ProcessResult:
        results = sorted(ctx.task_results.values())
        ok = all(s == InstanceStatus.SUCCESS for s in ctx.task_statuses.values())
        return ProcessResult(ok, f"post_process saw {len(results)}: {', '.join(results)}")


class EachShard(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        ctx.logger.info("shard %s of %s", ctx.sharding_id, ctx.sharding_num)
        if ctx.sharding_parameter == "bad" and ctx.task_attempt == 0:
            return ProcessResult(False, "bad shard, first try")
        return ProcessResult(True, f"{ctx.sharding_id}={ctx.sharding_parameter}@{os.getpid()}")


class SlowNumbers(SumOfNumbers):
    """Like SumOfNumbers, but each number takes a while."""

    def process(self, ctx: JobContext) -> ProcessResult:
        if not ctx.is_root_task:
            import time

            time.sleep(0.2)
        return super().process(ctx)
