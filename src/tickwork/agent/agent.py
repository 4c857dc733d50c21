"""The ``tickwork worker`` agent: runs the jobs of its app group for a tickwork server.

One WebSocket to one server of the list at a time (``tickwork.worker.protocol`` is the wire).
Runs the server hands over go to an ``InProcessWorker`` (the code path of the embedded
default); what it reports, and a heartbeat every ``HEARTBEAT_S``, waits in an ``Outbox`` and
goes out in one frame at most every ``FRAME_INTERVAL_S`` (at once when many wait). A lost
connection is retried with backoff on the next server of the list, keeping what waits. A close
with ``CLOSE_FORBIDDEN`` or ``CLOSE_BAD_REQUEST`` ends the agent (``AgentRefused``).
``drain`` (SIGTERM, SIGINT) stops taking runs, waits for the running ones (bounded), kills
the rest, sends what waits and closes.

Fencing (``agent/touch.py``): the agent starts work only while in touch with its server
(welcomed on this connection, heard within the lease; it pings every heartbeat). After its
loop stood still (frozen) it drops what it read and had not started, and reconnects so that
its ``hello`` settles the rest; once the lease is out it kills what it runs. Its guardian,
beaten by the ticker, kills the runs' processes when the agent is frozen past the lease.

Runs' logs: the server says in ``welcome`` what it keeps of each attempt's log, and the agent
cuts its runs' logs the same way (``domain/log_cap.py``), so as to send no line the server
would drop; while many log lines wait to be sent, the runs' output is not read
(``Outbox.log_room``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from tickwork.agent.options import AgentOptions, connect_url
from tickwork.agent.outbox import MAX_LOG_LINES, Outbox
from tickwork.agent.reporter import AgentReporter
from tickwork.agent.touch import ServerTouch, Verdict
from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import TickworkError
from tickwork.worker.abc import RunOutcome, RunRequest
from tickwork.worker.guardian import Guardian
from tickwork.worker.inprocess import InProcessWorker
from tickwork.worker.message_parser import parse_from_server
from tickwork.worker.messages import (
    Discard,
    Heartbeat,
    Hello,
    Kill,
    Prepare,
    Run,
    ServerMessage,
    Tasks,
    Welcome,
    encode_messages,
)
from tickwork.worker.metrics import MetricsSampler
from tickwork.worker.process_tree import GroupWatcher
from tickwork.worker.protocol import (
    APP_KEY_HEADER,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    decode,
)

__all__ = ["Agent", "AgentRefused", "AgentReporter"]

FRAME_INTERVAL_S = 0.01
"""At most one frame per this interval, unless ``LARGE_BATCH`` messages wait."""
LARGE_BATCH = 2_000
MAX_FRAME_MESSAGES = 5_000
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 5.0
OPEN_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 5.0
"""How long a draining agent waits for what is buffered to be sent (e.g. while reconnecting)."""
MAX_FRAME_BYTES = 64 * 1024 * 1024
TICK_S = 0.25
"""How often the agent checks its touch with the server (and beats its guardian)."""
SEND_FRAME_BYTES = 1024 * 1024
"""About the most a frame sent holds (``message_size``): the server takes frames of up to
16 MiB, and a line's JSON may take more than its text (escapes)."""

_log = logging.getLogger("tickwork.agent")


class AgentRefused(Exception):
    """The server refused this agent (wrong AppKey, bad request): retrying will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _print_line(line: str) -> None:
    print(line, flush=True)


class Agent:
    def __init__(
        self,
        options: AgentOptions,
        *,
        announce: Callable[[str], None] = _print_line,
        max_log_lines: int = MAX_LOG_LINES,
        guardian: GroupWatcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``guardian``: told the process group of every run, to kill them if the agent
        dies (``worker/guardian.py``; the ``tickwork worker`` command gives one).
        ``clock``: what the touch with the server is timed by (seconds; tests fake it)."""
        self.options = options
        self.outbox = Outbox(max_log_lines)
        self.touch = ServerTouch(clock=clock)
        self.reporter = AgentReporter(self.outbox, self.touch.unseen_gap)
        self.worker = InProcessWorker(
            options.concurrency, options.address, guardian=guardian, may_start=self.may_start
        )
        self._guardian = guardian if isinstance(guardian, Guardian) else None
        self.metrics = MetricsSampler(lambda: self.worker.executed)
        self._announce = announce
        self._draining = asyncio.Event()
        self._closing = False
        self._sending = False
        self._flushed = asyncio.Event()  # set when a send leaves the outbox empty
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self.connections = 0  # successful connections so far

    @property
    def address(self) -> str:
        return self.options.address

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def may_start(self) -> bool:
        """Whether a run or task may start now (``ServerTouch.may_start``); asked again when
        a queued one gets its slot, which may come after a freeze."""
        return self.touch.may_start()

    def drain(self) -> None:
        """Stop taking runs and end once the running ones are done (``run`` returns)."""
        if self._draining.is_set():
            _log.info("worker %s is already draining", self.address)
            return
        _log.info(
            "worker %s draining: %d runs going, waiting up to %.0f s",
            self.address,
            self.worker.running(),
            self.options.drain_timeout,
        )
        self._draining.set()
        # tell the server at once, so that it routes no more runs here
        self.outbox.put(Heartbeat(self.worker.running(), self.options.concurrency, draining=True))

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def run(self, *, handle_signals: bool = True) -> None:
        """Serve until drained (returns) or refused (raises ``AgentRefused``)."""
        loop = asyncio.get_running_loop()
        await self.worker.start(self.reporter)
        signals: list[signal.Signals] = []
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self.drain)
                    signals.append(sig)
        connection = asyncio.create_task(self._connection_loop(), name="tickwork-agent-connection")
        drained = asyncio.create_task(self._draining.wait(), name="tickwork-agent-drain")
        ticker = asyncio.create_task(self._tick_loop(), name="tickwork-agent-touch")
        try:
            await asyncio.wait({connection, drained}, return_when=asyncio.FIRST_COMPLETED)
            if connection.done():  # refused (or a bug): nothing more will reach us
                drained.cancel()
                await self.worker.stop(0)
                connection.result()  # raises what ended it
                return
            await self.worker.stop(self.options.drain_timeout)
            await self._flush()
            self._closing = True
            ws = self._ws
            if ws is not None:
                await ws.close(1001, f"worker {self.address} drained")
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection
            if len(self.outbox):
                _log.warning(
                    "worker %s exits with %d messages unsent", self.address, len(self.outbox)
                )
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            for task in (connection, drained, ticker):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

    async def _flush(self) -> None:
        """Wait (up to ``FLUSH_TIMEOUT_S``) until nothing waits to be sent."""
        if not len(self.outbox) and not self._sending:
            return
        self._flushed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_TIMEOUT_S):
                await self._flushed.wait()

    async def _connection_loop(self) -> None:
        servers = self.options.servers
        index = 0
        backoff = BACKOFF_FIRST_S
        while not self._closing:
            server = servers[index % len(servers)]
            url = connect_url(server, self.options)
            try:
                ws = await connect(
                    url,
                    additional_headers={APP_KEY_HEADER: self.options.app_key},
                    open_timeout=OPEN_TIMEOUT_S,
                    max_size=MAX_FRAME_BYTES,
                    compression=None,
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    raise AgentRefused(
                        f"{server} refused the connection (HTTP {status}); "
                        "check the namespace, group and AppKey"
                    ) from None
                _log.warning("connecting to %s failed: HTTP %d", server, status)
            except (OSError, TimeoutError, WebSocketException) as exc:
                _log.warning("connecting to %s failed: %s", server, exc or type(exc).__name__)
            else:
                began = time.monotonic()
                self._ws = ws
                self.connections += 1
                self._announce(
                    f"tickwork worker {self.address} connected to {server} as "
                    f"{self.options.namespace}/{self.options.group}"
                )
                self._connected.set()
                try:
                    await self._session(ws)
                finally:
                    self._connected.clear()
                    self._ws = None
                code, reason = ws.close_code, ws.close_reason
                if code in (CLOSE_FORBIDDEN, CLOSE_BAD_REQUEST):
                    raise AgentRefused(reason or f"{server} closed the connection with {code}")
                if self._closing:
                    return
                _log.warning(
                    "connection to %s lost (%s%s); reconnecting",
                    server,
                    code if code is not None else "no close frame",
                    f" {reason}" if reason else "",
                )
                if time.monotonic() - began >= BACKOFF_MAX_S:
                    backoff = BACKOFF_FIRST_S  # it was up for a while: start over
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            index += 1

    def hello(self) -> Hello:
        """What this agent holds, said first on every connection: the runs and tasks it runs
        (or waits to run) and those whose outcome waits to be sent. The server lets it keep
        those it still holds for it and kills the others (``resume``)."""
        runs: list[tuple[int, int]] = []
        tasks: list[tuple[int, int, int, int]] = []
        for request in self.worker.holding():
            iid, attempt, task = request.instance_id, request.attempt, request.task
            if task is None:
                runs.append((iid, attempt))
            else:
                tasks.append((iid, task.task_id, attempt, task.attempt))
        for finished in self.outbox.finished_keys():
            iid, attempt, key = finished.instance_id, finished.attempt, finished.task
            if key is None:
                runs.append((iid, attempt))
            else:
                tasks.append((iid, key[0], attempt, key[1]))
        return Hello(tuple(runs), tuple(tasks))

    async def _session(self, ws: ClientConnection) -> None:
        """Serve one connection until it closes."""
        # out of touch before this connection: what runs goes, but not this connection
        self._act(self.touch.connected(), cut=False)
        try:
            await ws.send(encode_messages([self.hello()]))
        except ConnectionClosed:
            self._act(self.touch.closed())
            return
        sender = asyncio.create_task(self._send_loop(ws), name="tickwork-agent-send")
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="tickwork-agent-heartbeat")
        pinger = asyncio.create_task(self._ping_loop(ws), name="tickwork-agent-ping")
        try:
            async for frame in ws:
                self._receive(frame)
        except ConnectionClosed:
            pass
        finally:
            self._act(self.touch.closed())
            heartbeat.cancel()
            sender.cancel()
            pinger.cancel()
            for task in (heartbeat, sender, pinger):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # nothing waits on a closed connection's handshake for long
            if ws.close_code is None:
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _heartbeat_loop(self) -> None:
        while True:
            self.outbox.put(
                Heartbeat(
                    self.worker.running(),
                    self.options.concurrency,
                    draining=self.draining,
                    metrics=self.metrics.sample(),
                )
            )
            await asyncio.sleep(self.touch.timing.heartbeat_s)

    async def _ping_loop(self, ws: ClientConnection) -> None:
        """Ping the server every heartbeat: its pongs are how the agent hears it when it has
        nothing to say (``ServerTouch.heard``)."""
        while True:
            await asyncio.sleep(self.touch.timing.heartbeat_s)
            try:
                pong = await ws.ping()
            except ConnectionClosed:
                return
            pong.add_done_callback(self._ponged)  # type: ignore[attr-defined]

    def _ponged(self, pong: asyncio.Future[float]) -> None:
        if not pong.cancelled() and pong.exception() is None:
            self._act(self.touch.heard())

    async def _tick_loop(self) -> None:
        """Check the touch a few times a second (a lease running out, a freeze just over)
        and beat the guardian: it kills the runs if the beats stop for the lease."""
        silence_ms = -1
        while True:
            self._act(self.touch.check())
            guardian = self._guardian
            if guardian is not None:
                lease_ms = round(self.touch.timing.lease_s * 1000)
                if lease_ms != silence_ms:
                    guardian.kill_after_silence(lease_ms)
                    silence_ms = lease_ms
                guardian.beat()
            await asyncio.sleep(TICK_S)

    def _act(self, verdict: Verdict, *, cut: bool = True) -> None:
        """Carry out what the touch decided: after a gap, drop what was not started and
        reconnect (the ``hello`` settles what runs); once the lease is out, kill it all.
        ``cut``: close the connection (what it brings may be stale)."""
        if verdict is Verdict.NONE:
            return
        touch = self.touch
        if verdict is Verdict.GAP:
            reason = (
                f"worker {self.address} stood still for {touch.last_gap:.1f} s (frozen?) "
                "before it started this; not started"
            )
            count = self.worker.give_up(reason, running_too=False)
        else:
            reason = (
                f"worker {self.address} had not heard its server for "
                f"{touch.silent_for():.1f} s (lease {touch.timing.lease_s:g} s); killed"
            )
            count = self.worker.give_up(reason, running_too=True)
        _log.warning(
            "worker %s %s: %d run(s) and task(s) given up; reconnecting",
            self.address,
            "stood still" if verdict is Verdict.GAP else "lost touch with its server",
            count,
        )
        ws = self._ws
        if cut and ws is not None:  # at once: a close handshake could wait on a dead link
            ws.transport.abort()

    async def _send_loop(self, ws: ClientConnection) -> None:
        outbox = self.outbox
        try:
            while True:
                await outbox.wait()
                if len(outbox) < LARGE_BATCH:
                    await asyncio.sleep(FRAME_INTERVAL_S)  # let a batch gather
                batch = outbox.take(MAX_FRAME_MESSAGES, SEND_FRAME_BYTES)
                if not batch:
                    continue
                self._sending = True
                try:
                    await ws.send(encode_messages(batch))
                except BaseException:
                    outbox.put_back(batch)  # sent again after reconnecting
                    raise
                finally:
                    self._sending = False
                if not len(outbox):
                    self._flushed.set()
        except ConnectionClosed:
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("sending to the server failed; reconnecting")
            await ws.close(1011, "the agent failed to send")

    def _receive(self, frame: str | bytes) -> None:
        verdict = self.touch.heard()
        if verdict is not Verdict.NONE:  # read after a gap: it may have gone elsewhere
            self._act(verdict)
            return
        try:
            messages = decode(frame)
        except TickworkError as exc:
            _log.warning("ignored a frame from the server: %s", exc.message)
            return
        for data in messages:
            try:
                self._handle(parse_from_server(data))
            except TickworkError as exc:
                _log.warning("ignored a %r message: %s", data.get("op"), exc.message)
            except Exception:
                _log.exception("handling a %r message failed", data.get("op"))

    def _handle(self, message: ServerMessage) -> None:
        match message:
            case Run(request):
                self._take(request)
            case Tasks(requests):
                for request in requests:
                    self._take(request)
            case Prepare(request):
                if not self.draining and self.may_start():
                    self.worker.prepare(request)
            case Discard(instance_id, attempt):
                self.worker.discard(instance_id, attempt)
            case Kill(instance_id, reason, attempt):
                if not self.worker.kill(instance_id, reason, attempt=attempt):
                    self.worker.discard(instance_id, attempt)
                    _log.info("kill of instance %s: not running here", instance_id)
            case Welcome(worker_id, log_limits, timing):
                self._act(self.touch.welcomed(timing))
                _log.info("worker %s welcomed as %s", self.address, worker_id or "(unnamed)")
                # runs started from now on cut their logs as this server will
                self.worker.log_limits = log_limits

    def _take(self, request: RunRequest) -> None:
        """A run or task handed over: started only while in touch (one read before the
        ``welcome``, or after a gap, may already run elsewhere: it is dropped, and the next
        ``hello`` does not name it), and only if no later attempt of it ran here."""
        if self.draining:
            self._refuse(request)
        elif not self.may_start():
            _log.warning(
                "worker %s dropped instance %s attempt %s: not in touch with its server",
                self.address,
                request.instance_id,
                request.attempt,
            )
        elif self.worker.superseded(request):
            _log.warning(
                "worker %s dropped instance %s attempt %s: a later attempt ran here",
                self.address,
                request.instance_id,
                request.attempt,
            )
        else:
            self.worker.submit(request)

    def _refuse(self, request: RunRequest) -> None:
        self.reporter.finished(
            request.instance_id,
            request.attempt,
            RunOutcome(InstanceStatus.FAILED, f"worker {self.address} is draining", lost=True),
            now_ms(),
            None if request.task is None else request.task.key,
        )
