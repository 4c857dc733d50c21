"""Processor classes the engine tests run by name (``engine_processors:Name``)."""

from __future__ import annotations

from tickwork.processor import JobContext, Processor, ProcessResult


class Reports(Processor):
    """Logs, reports progress, and returns what it was given and when its data is."""

    def process(self, ctx: JobContext) -> ProcessResult:
        ctx.logger.info("working on %s", ctx.instance_parameters)
        ctx.report_progress("2/2 done")
        return ProcessResult(
            True, f"{ctx.job_parameters}|{ctx.instance_parameters}|{ctx.data_time.isoformat()}"
        )


class Fails(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(False, "no luck")


class Chatty(Processor):
    """Logs 3,000 lines from its thread (more than the tests' cap keeps)."""

    def process(self, ctx: JobContext) -> ProcessResult:
        for n in range(1, 3001):
            ctx.logger.info("step %d", n)
        return ProcessResult(True, "talked")
