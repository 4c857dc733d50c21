"""A property-based fuzz of the native API from its own OpenAPI document (schemathesis), against
a real ``tickwork server`` on loopback: every answer must be a documented status with a body of
its documented schema, never a 5xx, never internal text (docs/native-api.md, "The fuzz").

``make test`` runs a short version (``TW_FUZZ_EXAMPLES``, 5 a route and key: a few hundred
calls); ``make fuzz`` a long one (at least 20,000 calls). Every operation is called with the
admin key (all of schemathesis's checks) and with a key that has no rights (only refusals may
come back: 401, 403, 404, or 400/422 naming a malformed parameter; and 200 for the calls any
key may make and for listings that show nothing). The server runs without a worker,
so the jobs the fuzz creates never run.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from server_support import ServerProcess, base_env, free_port

from tickwork.api.app import create_app

EXAMPLES = int(os.environ.get("TW_FUZZ_EXAMPLES", "5"))
ADMIN = ("fuzz-admin", "fuzz-admin-secret-0123456789")
OPEN_TO_ANY_KEY = {"/healthz", "/metrics"}
# What a caller must never read: a traceback, the database's words, Python's error names.
INTERNAL = re.compile(
    r"Traceback|File \"|sqlalchemy|sqlite3|asyncpg|psycopg|\[SQL:|SELECT |INSERT |UPDATE "
    r"|OverflowError|RecursionError|KeyError|TypeError|AttributeError"
)

SPEC = create_app().openapi()
schema = schemathesis.openapi.from_dict(SPEC)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
valid_only = schemathesis.openapi.from_dict(SPEC)
valid_only.config.generation.update(modes=[GenerationMode.POSITIVE])
calls = {"admin": 0, "no rights": 0}


class Fuzzed:
    def __init__(self, server: ServerProcess, no_rights: tuple[str, str]) -> None:
        self.server = server
        self.no_rights = no_rights
        self.session = requests.Session()
        # every request made, the checks' own (an undeclared method, ...) included
        self.session.hooks["response"].append(self._count)
        self.requests = 0

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests += 1


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    env = base_env(TICKWORK_ADMIN_KEY_ID=ADMIN[0], TICKWORK_ADMIN_KEY_SECRET=ADMIN[1])
    server = ServerProcess(home, free_port(), env, "--no-worker")
    made = httpx.post(
        f"{server.url}/api/v1/access-keys", json={"name": "no rights"}, auth=ADMIN, timeout=30
    )
    made.raise_for_status()
    key = made.json()
    fuzzed = Fuzzed(server, (key["key_id"], key["secret"]))
    started = time.monotonic()
    yield fuzzed
    server.stop(signal.SIGINT)
    log = server.output.read_text(errors="replace")
    print(f"\nfuzz: {fuzzed.requests} requests in {time.monotonic() - started:.0f} s "
          f"({calls['admin']} cases with the admin key, {calls['no rights']} with a key "
          f"without rights); server log {server.output}")  # fmt: skip
    # a 500 is logged with its traceback, a failed statement as an error
    assert "Traceback" not in log and " ERROR " not in log, log[-5000:]


def no_internal_text(ctx: Any, response: Any, case: Any) -> bool | None:
    """A check: no answer shows internal text."""
    found = INTERNAL.search(response.text or "")
    if found:
        raise AssertionError(
            f"internal text {found.group()!r} in the answer: {response.text[:300]}"
        )
    return None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("TW_FUZZ_RANDOM") is None,
)
def test_admin_calls_get_documented_answers_and_no_server_errors(
    case: schemathesis.Case, fuzzed: Fuzzed
) -> None:
    calls["admin"] += 1
    case.call_and_validate(
        base_url=fuzzed.server.url,
        session=fuzzed.session,
        auth=ADMIN,
        timeout=30,
        additional_checks=[no_internal_text],
        # The schema states types and bounds, not every rule of the service (a cron
        # expression's grammar, a name that must not be blank): a schema-valid call may get
        # 400 naming the field. And pydantic reads 0 as false: a "schema-violating" call may
        # be taken. Neither is a failure here.
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )


# Schema-valid calls only: a body that is not even JSON is refused (422) before the key's
# rights are looked at (FastAPI reads the body before the route's dependencies run).
@valid_only.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("TW_FUZZ_RANDOM") is None,
)
def test_a_key_without_rights_reaches_nothing(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    calls["no rights"] += 1
    response = case.call(
        base_url=fuzzed.server.url, session=fuzzed.session, auth=fuzzed.no_rights, timeout=30
    )
    # refused, or a parameter refused before anything is looked up (it names the parameter)
    allowed = {400, 401, 403, 404, 422}
    if case.method.upper() != case.operation.method.upper():
        allowed.add(405)  # a method the path does not have: the routing table is public
    if case.path in OPEN_TO_ANY_KEY:
        allowed |= {200, 408, 413}
    elif response.status_code == 200 and shows_nothing(case, response):
        allowed.add(200)
    assert response.status_code in allowed, (case.method, case.path, response.text[:300])
    no_internal_text(None, response, case)


def shows_nothing(case: schemathesis.Case, response: Any) -> bool:
    """A 200 that reaches nothing: an empty listing (a key without rights sees no namespace,
    group, job or instance), or the default namespace's calendars, which every namespace
    shares and every key may read (docs/security.md)."""
    if case.method.upper() != "GET":
        return False
    if case.formatted_path.startswith("/api/v1/namespaces/default/calendars"):
        return True
    body = response.json()
    return isinstance(body, dict) and body.get("items") == []
