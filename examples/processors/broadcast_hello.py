"""A broadcast job: every live worker of the app group runs ``process`` once;
``pre_process`` runs once before them and ``post_process`` once after, seeing every result.

    tickwork job create --name hello-all --type processor \
        --class-name broadcast_hello:HelloEveryone --mode broadcast --api
"""

from __future__ import annotations

import os
import socket

from tickwork.processor import JobContext, Processor, ProcessResult


class HelloEveryone(Processor):
    def pre_process(self, ctx: JobContext) -> None:
        ctx.logger.info("about to greet every worker of %s", ctx.group_id)

    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, f"hello from {socket.gethostname()}:{os.getpid()}")

    def post_process(self, ctx: JobContext) -> ProcessResult:
        greetings = sorted(ctx.task_results.values())
        return ProcessResult(True, f"{len(greetings)} workers answered: {'; '.join(greetings)}")
