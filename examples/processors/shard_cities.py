"""A sharding job: the job's parameters name the shards (``0=Beijing,1=Shanghai,...``); each
shard runs once, on one of the workers, and a failed shard is retried on its own
(TaskMaxAttempt).

    tickwork job create --name cities --type processor --class-name shard_cities:PerCity \
        --mode sharding --parameters '0=Beijing,1=Shanghai,2=Hangzhou' --api
"""

from __future__ import annotations

import os

from tickwork.processor import JobContext, Processor, ProcessResult


class PerCity(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        ctx.logger.info(
            "shard %d of %d: %s", ctx.sharding_id, ctx.sharding_num, ctx.sharding_parameter
        )
        return ProcessResult(True, f"{ctx.sharding_id}={ctx.sharding_parameter}@{os.getpid()}")
