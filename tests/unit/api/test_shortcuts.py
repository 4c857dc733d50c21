"""ShortcutMiddleware: the hot calls go straight to their handlers, answered as the stack would."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from tickwork.api.errors import install_error_handlers
from tickwork.api.shortcuts import Shortcut, ShortcutMiddleware
from tickwork.domain.errors import JobNotFound


def app_with_shortcuts() -> tuple[FastAPI, list[str]]:
    served: list[str] = []

    async def fast(request: Request) -> Response:
        served.append(f"shortcut {request.path_params['name']}")
        name = request.path_params["name"]
        if name == "missing":
            raise JobNotFound("job 7 does not exist", field="job_id")
        if name == "broken":
            raise RuntimeError("secret detail")
        return JSONResponse({"name": name})

    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things/{name}/go")
    async def declared(name: str) -> dict[str, str]:
        served.append(f"route {name}")
        return {"name": name}

    @app.get("/other")
    async def other() -> dict[str, str]:
        served.append("other")
        return {"ok": "yes"}

    pattern = re.compile(r"/things/(?P<name>[^/]+)/go")
    app.add_middleware(ShortcutMiddleware, shortcuts=[Shortcut(frozenset({"POST"}), pattern, fast)])
    return app, served


async def test_matching_calls_take_the_shortcut_and_the_rest_the_stack() -> None:
    app, served = app_with_shortcuts()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/things/a/go")).json() == {"name": "a"}
        assert (await client.get("/other")).json() == {"ok": "yes"}
        # not the shortcut's method: the router answers, as it would without the shortcut
        assert (await client.get("/things/a/go")).status_code == 405
        missing = await client.post("/things/missing/go")
        broken = await client.post("/things/broken/go")
    assert served == ["shortcut a", "other", "shortcut missing", "shortcut broken"]
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "JobNotFound", "message": "job 7 does not exist", "field": "job_id"}
    }
    assert broken.status_code == 500
    assert broken.json()["error"]["code"] == "InternalError"
    assert "secret detail" not in broken.text
