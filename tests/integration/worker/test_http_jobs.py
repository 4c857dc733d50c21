"""HTTP jobs against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from worker_support import FAILED, KILLED, SUCCESS, RecordingReporter, make_request, run_job

from tickwork.domain.enums import JobType
from tickwork.worker.inprocess import InProcessWorker


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    release: threading.Event
    slow_calls: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path, _, query = self.path.partition("?")
        if path == "/ok":
            self._send(200, json.dumps({"code": 200, "data": {"state": "done"}, "ok": True}))
        elif path == "/echo":
            echo = {
                "method": self.command,
                "query": query,
                "body": body,
                "type": self.headers.get("Content-Type", ""),
                "agent": self.headers.get("User-Agent", ""),
            }
            self._send(200, json.dumps(echo))
        elif path == "/text":
            self._send(200, "plain words", "text/plain")
        elif path == "/broken":
            self._send(500, "database is down", "text/plain")
        elif path == "/slow":
            self.server.slow_calls.set()
            self.server.release.wait(60)
            self._send(200, "late")
        else:
            self._send(404, "no such page", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = _route


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.release = threading.Event()
    httpd.slow_calls = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _content(url: str, **more: object) -> str:
    return json.dumps({"url": url, **more})


async def test_get_succeeds_with_the_body_as_result(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    outcome, lines = await run_job(
        worker, reporter, job_type=JobType.HTTP, content=_content(f"{server}/text")
    )
    assert (outcome.status, outcome.result) == (SUCCESS, "plain words")
    assert lines[0] == f"GET {server}/text"
    assert lines[1].startswith("HTTP 200 OK")


async def test_post_sends_the_parameters_as_a_form(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    outcome, _ = await run_job(
        worker,
        reporter,
        job_type=JobType.HTTP,
        content=_content(f"{server}/echo", method="post", timeout=5),
        job_parameters="name=tick work&n=2",
    )
    assert outcome.status == SUCCESS
    echo = json.loads(outcome.result)
    assert echo["method"] == "POST"
    assert echo["body"] == "name=tick+work&n=2"
    assert echo["type"] == "application/x-www-form-urlencoded"
    assert echo["agent"].startswith("tickwork/")


async def test_get_sends_the_parameters_in_the_query(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    outcome, _ = await run_job(
        worker,
        reporter,
        job_type=JobType.HTTP,
        content=_content(f"{server}/echo?fixed=1"),
        job_parameters="a=1",
        instance_parameters="b=2",
    )
    echo = json.loads(outcome.result)
    assert (echo["method"], echo["query"], echo["body"]) == ("GET", "fixed=1&b=2", "")


@pytest.mark.parametrize(
    ("key", "value"),
    [("code", 200), ("code", "200"), ("ok", "true"), ("data.state", "done")],
)
async def test_resp_key_matching_resp_value_succeeds(
    worker: InProcessWorker, reporter: RecordingReporter, server: str, key: str, value: object
) -> None:
    content = _content(f"{server}/ok", respKey=key, respValue=value)
    outcome, _ = await run_job(worker, reporter, job_type=JobType.HTTP, content=content)
    assert outcome.status == SUCCESS
    assert json.loads(outcome.result)["code"] == 200


@pytest.mark.parametrize(
    ("path", "key", "value", "problem"),
    [
        ("/ok", "code", "0", "respKey 'code' is '200', expected '0'"),
        ("/ok", "missing", "1", "respKey 'missing' is not in the response"),
        ("/text", "code", "200", "respKey 'code': the response is not JSON"),
    ],
)
async def test_resp_key_mismatch_fails(
    worker: InProcessWorker,
    reporter: RecordingReporter,
    server: str,
    path: str,
    key: str,
    value: str,
    problem: str,
) -> None:
    content = _content(f"{server}{path}", respKey=key, respValue=value)
    outcome, lines = await run_job(worker, reporter, job_type=JobType.HTTP, content=content)
    assert outcome.status == FAILED
    assert outcome.result.startswith(problem)
    assert problem in lines


async def test_a_non_2xx_status_fails(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    outcome, lines = await run_job(
        worker, reporter, job_type=JobType.HTTP, content=_content(f"{server}/broken")
    )
    assert (outcome.status, outcome.result) == (FAILED, "HTTP 500: database is down")
    assert lines[1].startswith("HTTP 500 Internal Server Error")


async def test_connection_refused_fails(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    outcome, _ = await run_job(worker, reporter, job_type=JobType.HTTP, content=_content(url))
    assert outcome.status == FAILED
    assert outcome.result.startswith(f"request to {url} failed: ConnectError")


async def test_no_answer_within_the_timeout_fails(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    content = _content(f"{server}/slow", timeout=0.2)
    outcome, _ = await run_job(worker, reporter, job_type=JobType.HTTP, content=content)
    assert (outcome.status, outcome.result) == (
        FAILED,
        f"no answer from {server}/slow within 0.2 s",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "an http job needs the HttpAttribute JSON"),
        ("{url: x}", "not valid JSON"),
        ('{"method": "GET"}', "url is missing"),
        ('{"url": "ftp://host/file"}', "url must be an absolute http:// or https:// URL"),
        ('{"url": "http://h/", "method": "FETCH"}', "method must be one of"),
    ],
)
async def test_bad_content_fails_clearly(
    worker: InProcessWorker, reporter: RecordingReporter, content: str, message: str
) -> None:
    outcome, _ = await run_job(worker, reporter, job_type=JobType.HTTP, content=content)
    assert outcome.status == FAILED
    assert outcome.result.startswith("content: ")
    assert message in outcome.result


async def test_kill_cancels_the_request(
    worker: InProcessWorker, reporter: RecordingReporter, server: str
) -> None:
    request = make_request(job_type=JobType.HTTP, content=_content(f"{server}/slow", timeout=60))
    worker.submit(request)
    await reporter.until(lambda: reporter.lines(request.instance_id), "the request to start")

    assert worker.kill(request.instance_id, "enough")
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "enough")
