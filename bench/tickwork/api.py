"""api, tickwork: signed SchedulerX ExecuteJob calls (signature V1, HMAC-SHA1, as
aliyun-python-sdk-schedulerx2 sends them) from a load generator on loopback: 32 keep-alive
connections, each sending its next call when the answer to the last came; requests/s over D
seconds, and their latency. Every call is signed afresh (its own nonce and timestamp) and
starts a run of a no-op processor job.

    .venv/bin/python bench/tickwork/api.py --backend sqlite|postgresql [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import quote

from harness import KEY, SYSTEM, Server, common

CONNECTIONS = 32


def _encode(text: str) -> str:
    return quote(text, safe="~")


def signed_body(job_id: int) -> bytes:
    params = {
        "Action": "ExecuteJob",
        "Version": "2019-04-30",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "Namespace": "default",
        "GroupId": "default",
        "JobId": str(job_id),
        "AccessKeyId": KEY[0],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"POST&{_encode('/')}&{_encode(canonical)}"
    digest = hmac.new(f"{KEY[1]}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    params["Signature"] = base64.b64encode(digest).decode()
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in params.items()).encode()


async def connection(
    port: int, job_id: int, until: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            body = signed_body(job_id)
            head = (
                f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            status = (await reader.readline()).split(b" ", 2)[1]
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != b"200" or b'"Success":true' not in answer.replace(b" ", b""):
                errors.append(answer[:200].decode(errors="replace"))
    finally:
        writer.close()


async def load(
    ports: list[int], job_id: int, seconds: float
) -> tuple[list[float], list[str], float]:
    """CONNECTIONS keep-alive connections, spread over the servers, for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(
            connection(ports[n % len(ports)], job_id, until, latencies, errors)
            for n in range(CONNECTIONS)
        )
    )
    return latencies, errors, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float)
    args = parser.parse_args()
    seconds = args.seconds or (5 if args.quick else 20)
    with Server(args.backend) as server:
        (job_id,) = server.create_jobs(
            [{"name": "api", "job_type": "processor", "class_name": "tw_bench_processors:Noop",
              "time_type": "api", "max_concurrency": 1000, "history_limit": 1_000_000}]
        )  # fmt: skip
        common.say(f"tickwork/{server.label}: signed ExecuteJob for {seconds:g} s")
        latencies, errors, took = asyncio.run(load(server.ports, job_id, seconds))
    if errors:
        common.say(f"  {len(errors)} calls failed, e.g. {errors[0]}")
    ok = len(latencies) - len(errors)
    common.say(f"  {ok} calls answered in {took:.1f} s")
    common.emit(
        [
            common.row("api", SYSTEM, server.label, "requests_per_s", ok / took, "req/s"),
            common.row("api", SYSTEM, server.label, "latency_p50",
                       common.percentile(latencies, 0.5), "ms"),
            common.row("api", SYSTEM, server.label, "latency_p99",
                       common.percentile(latencies, 0.99), "ms"),
            common.row("api", SYSTEM, server.label, "errors", len(errors), "count"),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
