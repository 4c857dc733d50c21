"""``tickwork server``: the embedded default (one process, SQLite, an in-process worker) or
one server over PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

from tickwork.api.app import create_app
from tickwork.api.connections import head_limited_protocol
from tickwork.engine.engine import Engine, new_server_id
from tickwork.private_files import make_private, open_private, private_directory
from tickwork.process_secrets import withhold_secrets
from tickwork.service.services import Services
from tickwork.settings import Settings
from tickwork.store.abc import Store
from tickwork.store.engine import normalize_url
from tickwork.store.factory import open_store
from tickwork.store.server_lock import ServerLock, lock_sqlite_server
from tickwork.worker.abc import Worker
from tickwork.worker.absent import AbsentWorker
from tickwork.worker.guardian import Guardian
from tickwork.worker.host import listening_ip
from tickwork.worker.inprocess import InProcessWorker

log = logging.getLogger("tickwork.server")


@dataclass(slots=True)
class Runtime:
    """Everything one server holds while it runs."""

    settings: Settings
    store: Store
    engine: Engine
    services: Services
    stopped: bool = False
    lock: ServerLock | None = None  # SQLite: this server's hold on the file
    guardian: Guardian | None = None  # kills the runs if this process dies

    @classmethod
    async def check(cls, settings: Settings) -> None:
        """Open the store (migrating it), make the defaults and the admin key, and close it
        again: a server that cannot start says why before it binds its port."""
        runtime = await cls.start(settings, run_engine=False)
        await runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()

    @classmethod
    async def start(cls, settings: Settings, *, run_engine: bool = True) -> Runtime:
        """Open the store and, with ``run_engine``, start the engine: first the guardian of
        the runs (``worker/guardian.py``), which on SQLite waits until a previous server's
        guardian has ended that server's runs, so that none is retried beside an orphan."""
        private_directory(settings.home_path)
        make_private(settings.credentials_path)  # an install made before files were private
        url = normalize_url(settings.effective_database_url)
        lock = lock_sqlite_server(url)
        guardian: Guardian | None = None
        store: Store | None = None
        try:
            if run_engine:
                guardian = await Guardian.start(
                    None if lock is None else lock.path.with_suffix(".guardian-lock")
                )
            store = await open_store(settings.effective_database_url, server_id=new_server_id())
            worker: Worker = (
                AbsentWorker()
                if settings.no_worker
                else InProcessWorker(
                    settings.worker_concurrency, in_process_address(settings), guardian=guardian
                )
            )
            engine = Engine(store, worker, settings, single_server=lock is not None)
            services = Services.build(store, engine)
            await services.namespaces.ensure_defaults()
            key, generated = await services.access.ensure_admin_key(
                settings.admin_key_id, settings.admin_key_secret
            )
            if generated:
                announce_admin_key(settings, key.key_id, key.secret)
            if run_engine:
                if settings.no_worker:
                    log.info(
                        "started without the in-process worker (--no-worker): runs fail "
                        "with 'no worker available'"
                    )
                await engine.start()
        except BaseException:
            if store is not None:
                await store.close()
            if guardian is not None:
                await asyncio.to_thread(guardian.close)
            if lock is not None:
                lock.release()
            raise
        return cls(settings, store, engine, services, lock=lock, guardian=guardian)

    def begin_stop(self) -> None:
        """A stop was asked (SIGTERM, SIGINT): the engine refuses new runs from now on and
        hands its planned work over, while the HTTP server still drains its connections."""
        self.engine.begin_stop()

    async def stop(self) -> None:
        """Stop the engine and close the store (once; later calls do nothing)."""
        if self.stopped:
            return
        self.stopped = True
        await self.engine.stop()
        await self.store.close()
        if self.guardian is not None:  # after the worker killed what was left: nothing to do
            await asyncio.to_thread(self.guardian.close)
        if self.lock is not None:
            self.lock.release()


def announce_admin_key(settings: Settings, key_id: str, secret: str) -> None:
    """Print the generated admin key once and keep it in the credentials file (0600)."""
    path = settings.credentials_path
    private_directory(path.parent)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{host}:{settings.port}"
    data = {"url": url, "access_key_id": key_id, "access_key_secret": secret}
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    print(
        "tickwork: generated the admin access key (shown once; also saved to "
        f"{path}):\n  access key id:     {key_id}\n  access key secret: {secret}",
        file=sys.stderr,
        flush=True,
    )


def serve(settings: Settings) -> None:
    """Run the server until interrupted."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The settings are read: no job, script or processor, finds them in the environment.
    withhold_secrets()
    asyncio.run(Runtime.check(settings))  # errors surface here, as one clear line
    holder: dict[str, Runtime] = {}
    loops: list[asyncio.AbstractEventLoop] = []

    async def startup() -> Services:
        runtime = await Runtime.start(settings)
        holder["runtime"] = runtime
        loops.append(asyncio.get_running_loop())
        # What start-up made lives as long as the server: keep it out of the cyclic
        # collector's full passes, which otherwise stall the event loop for ~100 ms.
        gc.freeze()
        log.info(
            "tickwork serving on http://%s:%d (database %s)",
            settings.host,
            settings.port,
            _safe_url(settings.effective_database_url),
        )
        return runtime.services

    async def shutdown() -> None:
        runtime = holder.pop("runtime", None)
        if runtime is not None:
            await runtime.stop()

    def stop_asked() -> None:
        runtime = holder.get("runtime")
        if runtime is not None and loops:
            loops[0].call_soon_threadsafe(runtime.begin_stop)

    app = create_app(startup=startup, shutdown=shutdown, settings=settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        **uvicorn_options(settings),
    )
    server = StopAwareServer(config, on_stop_asked=stop_asked)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the server could not start


class StopAwareServer(uvicorn.Server):
    """uvicorn's server, which tells tickwork as soon as a stop is asked (SIGTERM, SIGINT):
    uvicorn then waits for the requests under way before the app's shutdown runs, and a
    trigger among them would be accepted by a server that has stopped handing work out (issue
    21: accepted, then lost). Told at once, the engine refuses it (503, ``ServerStopping``)
    and hands its planned work over meanwhile."""

    def __init__(self, config: uvicorn.Config, *, on_stop_asked: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop_asked = on_stop_asked

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._on_stop_asked()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What uvicorn is told besides the app, address and logging: the connection limits
    (docs/native-api.md, "Limits") and the event loop."""
    return {
        "http": head_limited_protocol(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_s,
        "ws_max_size": settings.ws_max_bytes,
        # the asyncio loop, not uvloop: libuv forks the whole server for every subprocess,
        # which costs milliseconds per run; asyncio vforks (and learns of exits via pidfd)
        "loop": "asyncio",
    }


def _safe_url(url: str) -> str:
    """A database URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def in_process_address(settings: Settings) -> str:
    """The server's own worker is named ``ip:port`` like any worker (SchedulerX's
    ``WorkAddr``): the address the server listens on (this host's when it listens on every
    address) and its port."""
    ip = listening_ip(settings.host)
    return f"[{ip}]:{settings.port}" if ":" in ip else f"{ip}:{settings.port}"
