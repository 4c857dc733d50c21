"""A map-reduce job: the root task maps N numbers (N = the job's parameters) as subtasks, the
workers of the app group each process some, and reduce adds them up.

    tickwork job create --name sum --type processor --class-name sum_numbers:SumNumbers \
        --mode grid --parameters 10000 --api
    tickwork job run ID

Run the workers with this directory on their PYTHONPATH (``PYTHONPATH=examples/processors
tickwork worker ...``). The result is ``{"sum": 49995000, "count": 10000, "workers": 3}``.
"""

from __future__ import annotations

import json
import os
import time

from tickwork.processor import JobContext, MapReduceProcessor, ProcessResult

PAGE = 1000


class SumNumbers(MapReduceProcessor):
    def process(self, ctx: JobContext) -> ProcessResult:
        if ctx.is_root_task:
            count = int(ctx.job_parameters or "100")
            ctx.logger.info("mapping %d numbers", count)
            return self.map([{"n": n} for n in range(count)], "Number")
        # a subtask: ctx.task is one item of the mapped list
        delay = float(ctx.instance_parameters or 0)  # seconds each subtask takes
        if delay:
            time.sleep(delay)
        # the worker's pid travels with the result, so reduce can tell how many workers ran
        return ProcessResult(True, f"{ctx.task['n']}@{os.getpid()}")

    def reduce(self, ctx: JobContext) -> ProcessResult:
        total, pids, failed = 0, set(), 0
        for task_id, result in ctx.task_results.items():
            if ctx.task_statuses[task_id] != 4:  # InstanceStatus.SUCCESS
                failed += 1
                continue
            number, _, pid = result.partition("@")
            total += int(number)
            pids.add(pid)
        summary = {"sum": total, "count": len(ctx.task_results), "workers": len(pids)}
        return ProcessResult(failed == 0, json.dumps(summary))
