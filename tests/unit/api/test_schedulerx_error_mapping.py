"""errors.py and required.py: which refusals are the product's (HTTP 200, Success false, an
integer Code) and which the gateway's (an HTTP error with a string code)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import alibabacloud_schedulerx220190430
import pytest

from tickwork.api.schedulerx.envelope import render
from tickwork.api.schedulerx.errors import (
    SchedulerxError,
    not_supported_yet,
    status_and_code,
    unknown_action,
)
from tickwork.api.schedulerx.params import MissingParameter
from tickwork.api.schedulerx.required import REQUIRED, required_by_product
from tickwork.domain import errors as e


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (e.InvalidParameter("TimeType must be 1, 3, 4, 5 or 100"), 400),
        (e.InvalidTimeExpression("invalid hours '25'"), 400),
        (e.Forbidden("no right"), 403),
        (e.NamespaceNotFound("namespace not exist namespace: n"), 404),
        (e.GroupNotFound("groupid not exist groupId: g namespace: n"), 404),
        (e.JobNotFound("jobid: 64 not match groupId: g"), 404),
        (e.InstanceNotFound("instance 5 does not exist"), 404),
        (e.CalendarNotFound("calendar not exist"), 404),
        (e.NotFound("notification policy 'p' does not exist"), 404),
        (e.AlreadyExists("groupId already exists"), 409),
        (e.JobDisabled("job 1 is disabled"), 409),
        (e.InvalidState("instance 5 has finished"), 409),
        (e.ScheduleError("no fire"), 409),
        (e.Conflict("conflict"), 409),
    ],
)
def test_refusals_of_the_product_answer_http_200_with_an_integer_code(
    error: e.TickworkError, code: int
) -> None:
    assert status_and_code(error, "GetJobInfo") == (200, code)
    assert status_and_code(error) == (200, code)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (e.Unauthenticated("who"), 401, "InvalidAccessKeyId.NotFound"),
        (e.RequestTimeout("slow"), 408, "RequestTimeout"),
        (e.PayloadTooLarge("big"), 413, "PayloadTooLarge"),
        (e.Unavailable("database down"), 503, "ServiceUnavailable"),
        (SchedulerxError(400, "SignatureDoesNotMatch", "bad"), 400, "SignatureDoesNotMatch"),
        (unknown_action("Nope"), 404, "InvalidAction.NotFound"),
        (not_supported_yet("CreateWorkflow", "workflow support"), 501, "UnsupportedOperation"),
        (e.TickworkError("a bug"), 500, "InternalError"),
    ],
)
def test_refusals_of_the_gateway_stay_http_errors_with_a_string_code(
    error: e.TickworkError, status: int, code: str
) -> None:
    assert status_and_code(error, "GetJobInfo") == (status, code)


def test_a_missing_parameter_the_product_requires_is_the_gateways() -> None:
    name = MissingParameter("Name is mandatory for this action", field="Name")
    assert status_and_code(name, "CreateJob") == (400, "MissingParameter")
    # one tickwork needs but the product leaves optional: the product's own refusal
    worker = MissingParameter("Worker is mandatory for this action", field="Worker")
    assert status_and_code(worker, "ExecuteJob") == (200, 400)
    # before the action is known (no Action at all): the gateway's
    assert status_and_code(worker) == (400, "MissingParameter")


def test_required_parameters_are_the_sdk_models() -> None:
    """REQUIRED holds, for each of the 61 actions of the official client, the request
    fields its model documents as required (RegionId aside)."""
    package = Path(alibabacloud_schedulerx220190430.__file__).parent
    client = (package / "client.py").read_text()
    actions = set(re.findall(r"action = '(\w+)',", client))
    assert len(actions) == 61 and set(REQUIRED) == actions
    for action in actions:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        source = (package / "models" / f"_{snake}_request.py").read_text()
        lines = source.splitlines()
        wire = {attr: name for name, attr in re.findall(r"result\['(\w+)'\] = self\.(\w+)", source)}
        required = set()
        for i, line in enumerate(lines):
            if "This parameter is required." in line:
                for following in lines[i + 1 : i + 4]:
                    if match := re.match(r"\s+self\.(\w+) = \1", following):
                        required.add(wire.get(match[1], match[1]))
                        break
        assert REQUIRED[action] == required - {"RegionId"}, action
    assert required_by_product("CreateJob", "Name")
    assert not required_by_product("CreateJob", "Description")
    assert not required_by_product("Unknown", "Name") and not required_by_product("CreateJob", None)


def test_the_xml_form_carries_the_integer_code() -> None:
    body = {"RequestId": "R", "Code": 404, "Success": False, "Message": "job 5 does not exist"}
    answer = render("GetJobInfo", body, xml=True)
    assert answer.status_code == 200
    root = ET.fromstring(bytes(answer.body))
    assert root.tag == "GetJobInfoResponse"
    assert root.findtext("Code") == "404" and root.findtext("Success") == "false"
    assert root.findtext("Message") == "job 5 does not exist"
    assert json.loads(bytes(render("GetJobInfo", body).body))["Code"] == 404
