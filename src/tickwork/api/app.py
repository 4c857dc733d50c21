"""The HTTP application: the native API, health and metrics, over one set of services."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from tickwork import __version__
from tickwork.api import workers
from tickwork.api.auth import require_key, services_of
from tickwork.api.errors import error_response, install_error_handlers
from tickwork.api.limits import BodyLimits, RequestLimitMiddleware
from tickwork.api.native import groups, instances, jobs, keys, route_strategies
from tickwork.api.openapi import describe_limits
from tickwork.api.schedulerx.endpoint import rpc
from tickwork.api.schedulerx.errors import refusal as schedulerx_refusal
from tickwork.api.shortcuts import Shortcut, ShortcutMiddleware
from tickwork.domain.errors import TickworkError
from tickwork.service.services import Services
from tickwork.settings import Settings
from tickwork.worker.protocol import CONNECT_PATH

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"


def create_app(
    services: Services | None = None,
    *,
    startup: Callable[[], Awaitable[Services]] | None = None,
    shutdown: Callable[[], Awaitable[None]] | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """Build the app over ready services, or over services made by ``startup`` when the
    server starts (and closed by ``shutdown``); ``settings`` gives the request limits."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if startup is not None:
            app.state.services = await startup()
        try:
            yield
        finally:
            if shutdown is not None:
                await shutdown()

    app = FastAPI(
        title="tickwork",
        version=__version__,
        description="Native REST API of tickwork, a distributed job scheduler. "
        "Every call but /healthz needs an access key (HTTP Basic: key id and secret).",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    install_error_handlers(app)
    # Routes in the order of their traffic: the router tries them in turn, and FastAPI's
    # matching costs several µs a route (~40 µs an included router), which a trigger
    # through the SchedulerX endpoint or the native API paid for every route before it.
    app.add_route("/", rpc, methods=["GET", "POST"], include_in_schema=False)
    app.include_router(jobs.router)
    app.include_router(instances.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/metrics",
        tags=["health"],
        dependencies=[Depends(require_key)],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition",
                "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics(request: Request) -> Response:
        svc = services_of(request)
        await svc.engine.flush()
        svc.engine.metrics.set_instance_counts(await svc.store.count_instances_by_status())
        svc.engine.metrics.jobs_with_schedule_error.set(await svc.store.count_schedule_errors())
        return Response(svc.engine.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_key)])
    async def openapi_spec() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(require_key)])
    async def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="tickwork API")

    app.include_router(groups.router)
    app.include_router(route_strategies.router)
    app.include_router(keys.router)
    app.add_api_websocket_route(CONNECT_PATH, workers.connect)
    describe_limits(app, settings)
    app.add_middleware(
        ShortcutMiddleware,
        shortcuts=[
            Shortcut(frozenset({"GET", "POST"}), re.compile("/"), rpc),
            Shortcut(frozenset({"POST"}), jobs.RUN_PATH, jobs.parse_and_run_job),
        ],
    )
    # Outside the shortcuts: every call's body is bounded, whichever way it is served.
    app.add_middleware(
        RequestLimitMiddleware,
        limits=BodyLimits(settings.max_body_bytes, settings.body_timeout_s),
        refuse=_refusal,
        authenticate=require_key,
    )
    return app


def _refusal(request: Request, error: TickworkError) -> Response:
    """A call refused by the request limits, in the envelope of the face it came to."""
    if request.scope["path"] == "/":
        return schedulerx_refusal(request, error)
    return error_response(error)
