"""What processor runs of one worker share: the classes imported so far, the daemon threads
their blocking methods run in (``worker/daemon_threads.py``), and the gates being opened
together. One ``ProcessorRuntime`` per worker (the in-process worker makes its own, or is
given one), lent to each run through ``ExecutionEnv``: nothing of it is a module global.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import validate_class_name
from tickwork.worker.daemon_threads import DaemonThreads
from tickwork.worker.loop_inbox import inbox_of

__all__ = ["GatedCall", "ProcessorRuntime", "import_class"]


class ProcessorRuntime:
    def __init__(self, threads: DaemonThreads | None = None) -> None:
        self._classes: dict[str, type[Any]] = {}
        self._classes_lock = threading.Lock()  # classes are imported in threads
        self._threads = DaemonThreads() if threads is None else threads
        self._opening: list[Callable[[], None]] | None = None  # calls of gates opened together

    def cached_class(self, name: str) -> type[Any] | None:
        """The class ``name`` if it was imported before (no thread needed)."""
        return self._classes.get(name.strip())

    def load_class(self, name: str) -> type[Any]:
        """Import the class once; later calls use the cached class (blocking: call in a
        thread)."""
        key = name.strip()
        with self._classes_lock:
            cached = self._classes.get(key)
            if cached is None:
                cached = self._classes[key] = import_class(key)
        return cached

    @contextmanager
    def gates_opened_together(self) -> Iterator[None]:
        """Gates opened inside (on the loop's thread) queue their calls for the threads at the
        end, together: queued one by one, the first would wake a thread, whose hold on the GIL
        slows the opening of the next ones."""
        if self._opening is not None:  # already inside: the outer one queues them
            yield
            return
        self._opening = []
        try:
            yield
        finally:
            calls, self._opening = self._opening, None
            self._threads.run_all(calls)

    def gated(self, function: Callable[..., Any], *args: Any) -> GatedCall:
        """``function(*args)`` made ready for a thread, made when the gate opens."""
        return GatedCall(self, function, *args)

    def in_thread(self, function: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``function(*args)`` in a daemon thread (with the caller's context)."""
        call = GatedCall(self, function, *args)
        call.open()
        return call.future

    def wait_calls_taken(self, timeout: float) -> bool:
        """Block (releasing the GIL) until the queued processor calls have all started, at
        most ``timeout`` seconds: lets a burst of due runs start before the loop carries on."""
        return self._threads.wait_taken(timeout)

    def _queue(self, call: Callable[[], None]) -> None:
        if self._opening is not None:
            self._opening.append(call)
        else:
            self._threads.run(call)


class GatedCall:
    """A blocking call for the processor threads: ``open`` queues it straight from the
    caller, with no hop through the event loop, and ``future`` gets its outcome on the loop.
    A prepared run's first call is made ahead and opened at its due instant. Each call is
    made at most once."""

    def __init__(self, runtime: ProcessorRuntime, function: Callable[..., Any], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        inbox = inbox_of(loop)
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        self.future = future
        self._runtime = runtime
        self._opened = False

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def target() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = context.run(function, *args)
            except BaseException as exc:  # handed over to the loop
                error = exc
            try:
                inbox.put(settle, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        self._target = target  # made here, ahead: opening a gate is only queueing it

    def open(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._runtime._queue(self._target)

    def drop(self) -> None:
        """The run will not happen: the call is never made."""
        self._opened = True


def import_class(name: str) -> type[Any]:
    """The processor class ``package.module:Class`` (blocking: it imports)."""
    module_name, qualname = validate_class_name(name)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raised while loading
        raise InvalidParameter(
            f"class_name {name!r}: cannot import module {module_name!r}: "
            f"{type(exc).__name__}: {exc}",
            field="class_name",
        ) from exc
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidParameter(
                f"class_name {name!r}: module {module_name!r} has no {qualname!r}",
                field="class_name",
            ) from None
    if not isinstance(target, type):
        raise InvalidParameter(f"class_name {name!r} is not a class", field="class_name")
    if not callable(getattr(target, "process", None)):
        raise InvalidParameter(
            f"class_name {name!r} has no process(ctx) method", field="class_name"
        )
    return target
