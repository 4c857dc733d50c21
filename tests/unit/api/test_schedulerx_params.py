"""The SchedulerX wire helpers: reading parameters (params.py) and rendering answers
(envelope.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tickwork.api.schedulerx.envelope import render, wants_xml
from tickwork.api.schedulerx.errors import status_and_code
from tickwork.api.schedulerx.params import MissingParameter, Params
from tickwork.domain.errors import InvalidParameter


def params(**values: str) -> Params:
    return Params(values.items())


# -- scalars ---------------------------------------------------------------------------------
def test_strings_and_missing_ones() -> None:
    p = params(Name="orders", Empty="")
    assert p.str("Name") == "orders" and p.req("Name") == "orders"
    assert p.str("Absent") is None and p.str("Absent", "x") == "x"
    assert p.str("Empty") == "" and not p.has("Empty") and p.has("Name")
    for name in ("Absent", "Empty"):
        with pytest.raises(MissingParameter) as caught:
            p.req(name)
        assert caught.value.field == name and name in caught.value.message
        assert status_and_code(caught.value) == (400, "MissingParameter")


def test_a_later_pair_wins() -> None:
    assert Params([("A", "query"), ("A", "form")]).str("A") == "form"


def test_integers() -> None:
    p = params(N="42", Neg="-3", Padded=" 7 ", Blank=" ")
    assert p.int("N") == 42 and p.int("Neg") == -3 and p.int("Padded") == 7
    assert p.int("Absent") is None and p.int("Absent", 5) == 5 and p.int("Blank", 1) == 1
    assert p.req_int("N") == 42
    with pytest.raises(MissingParameter):
        p.req_int("Blank")


@pytest.mark.parametrize("text", ["abc", "1.5", "1_000", "1e3", "٣", "0x10", "--1"])
def test_malformed_integers_name_the_parameter(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        params(PageSize=text).int("PageSize")
    assert caught.value.field == "PageSize"
    assert caught.value.message == f"PageSize must be an integer, got {text!r}"
    assert status_and_code(caught.value) == (200, 400)  # the product's refusal, in the envelope


def test_integer_bounds() -> None:
    p = params(Low="0", High="101")
    with pytest.raises(InvalidParameter, match="Low must be >= 1, got 0"):
        p.int("Low", minimum=1)
    with pytest.raises(InvalidParameter, match="High must be <= 100, got 101"):
        p.int("High", maximum=100)
    with pytest.raises(InvalidParameter, match="Low must be >= 1"):
        p.req_int("Low", minimum=1)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("1", True), ("false", False),
     ("False", False), ("0", False), (" true ", True)],
)  # fmt: skip
def test_booleans(text: str, value: bool) -> None:
    assert params(Flag=text).bool("Flag") is value


def test_absent_and_malformed_booleans() -> None:
    assert params().bool("Flag") is None and params(Flag="").bool("Flag", True) is True
    with pytest.raises(InvalidParameter) as caught:
        params(CheckJobStatus="yes").bool("CheckJobStatus")
    assert caught.value.field == "CheckJobStatus"
    assert caught.value.message == "CheckJobStatus must be true or false, got 'yes'"


def test_of_writes_values_as_the_wire_does() -> None:
    p = Params.of({"Flag": True, "N": 3, "Nothing": None, "List": [1, "a"]})
    assert p.bool("Flag") is True and p.int("N") == 3 and p.str("Nothing") == ""
    assert p.values("List") == ["1", "a"]


# -- lists -----------------------------------------------------------------------------------
def test_objects_from_indexed_fields_in_index_order() -> None:
    p = Params(
        [
            ("ContactInfo.10.UserName", "ten"),
            ("ContactInfo.2.UserName", "two"),
            ("ContactInfo.2.UserPhone", "123"),
            ("ContactInfo.1.UserName", "one"),
            ("Other.1.UserName", "not this"),
            ("ContactInfoX.1.UserName", "nor this"),
        ]
    )
    assert p.objects("ContactInfo") == [
        {"UserName": "one"},
        {"UserName": "two", "UserPhone": "123"},
        {"UserName": "ten"},
    ]
    assert p.objects("Absent") == []


def test_objects_keep_a_nested_field_name_whole() -> None:
    p = params(**{"Dag.1.Edges.1.Source": "7"})
    assert p.objects("Dag") == [{"Edges.1.Source": "7"}]


def test_objects_from_a_json_array() -> None:
    text = json.dumps([{"month": 1, "days": [1, 2], "on": True, "x": None, "s": "a"}])
    assert params(Months=text).objects("Months") == [
        {"month": "1", "days": "[1,2]", "on": "true", "x": "", "s": "a"}
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("not json", "must be a JSON array"), ('{"a": 1}', "must be a JSON array"),
     ("[1, 2]", "must be a list of objects")],
)  # fmt: skip
def test_malformed_object_lists(text: str, problem: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        params(ContactInfo=text).objects("ContactInfo")
    assert caught.value.field == "ContactInfo"
    assert caught.value.message == f"ContactInfo {problem}"


def test_values_from_indexed_json_or_commas() -> None:
    indexed = Params([("JobIdList.2", "20"), ("JobIdList.1", "10"), ("JobIdList.1.X", "no")])
    assert indexed.values("JobIdList") == ["10", "20"]
    assert params(JobIdList="[1, 2, 3]").values("JobIdList") == ["1", "2", "3"]
    assert params(JobIdList=" 4, 5 ,,6").values("JobIdList") == ["4", "5", "6"]
    assert params(JobIdList="").values("JobIdList") == [] == params().values("JobIdList")


def test_integer_lists() -> None:
    assert params(JobIdList="[1, -2]").ints("JobIdList") == [1, -2]
    with pytest.raises(InvalidParameter) as caught:
        params(JobIdList="1,x").ints("JobIdList")
    assert caught.value.field == "JobIdList"
    assert caught.value.message == "JobIdList must be a list of integers, got 'x'"
    with pytest.raises(InvalidParameter, match="must be a JSON array"):
        params(JobIdList="[1,").ints("JobIdList")


# -- envelope --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "accept", "xml"),
    [(None, None, False), ("XML", None, True), ("xml", "application/json", True),
     ("JSON", "application/xml", False), (None, "application/xml", True),
     (None, "text/xml", True), (None, "application/json, application/xml", False),
     ("", "application/xml", True)],
)  # fmt: skip
def test_wants_xml(fmt: str | None, accept: str | None, xml: bool) -> None:
    assert wants_xml(fmt, accept) is xml


ANSWER = {
    "RequestId": "R-1",
    "Code": 200,
    "Success": True,
    "Message": "",
    "Data": {"Namespaces": [{"UId": "a", "Name": "x"}, {"UId": "b", "Name": "y"}]},
}


def test_json_answer() -> None:
    response = render("ListNamespaces", {**ANSWER, "Message": "ünïcode"}, status=201)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert "ünïcode".encode() in response.body
    assert json.loads(response.body)["Data"] == ANSWER["Data"]


def test_xml_answer_repeats_list_elements() -> None:
    response = render("ListNamespaces", ANSWER, xml=True)
    assert response.headers["content-type"] == "application/xml"
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(response.body)
    assert root.tag == "ListNamespacesResponse"
    assert [child.tag for child in root] == ["RequestId", "Code", "Success", "Message", "Data"]
    assert root.findtext("Code") == "200" and root.findtext("Success") == "true"
    assert root.findtext("Message") == ""
    assert [n.findtext("UId") for n in root.findall("Data/Namespaces")] == ["a", "b"]


def test_xml_values() -> None:
    body = {
        "Data": {
            "Ids": [1, 2],
            "Nothing": None,
            "Off": False,
            "Text": "a < b & c > d",
            "Log": "\x1b[31mred\x1b[0m\x00 tab\tnewline\n",
            "Empty": [],
        }
    }
    root = ET.fromstring(render("GetLog", body, xml=True).body)
    assert [e.text for e in root.findall("Data/Ids")] == ["1", "2"]
    assert root.findtext("Data/Nothing") == "" and root.findtext("Data/Off") == "false"
    assert root.findtext("Data/Text") == "a < b & c > d"
    assert root.findtext("Data/Log") == "\\u001b[31mred\\u001b[0m\\u0000 tab\tnewline\n"
    assert root.find("Data/Empty") is None


@pytest.mark.parametrize("action", ["", "<x>", "a b", "1Action", "Job&amp;"])
def test_an_action_that_is_no_element_name_answers_as_error(action: str) -> None:
    response = render(action, {"Code": "InvalidAction.NotFound"}, status=404, xml=True)
    assert response.status_code == 404
    assert ET.fromstring(response.body).tag == "ErrorResponse"


# -- 64-bit bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (str(2**63), f"JobId must be <= {2**63 - 1}, got {2**63}"),
        (str(-(2**63) - 1), f"JobId must be >= {-(2**63)}, got {-(2**63) - 1}"),
        ("9" * 5000, f"JobId must be <= {2**63 - 1}, got '{'9' * 100}'... (5000 characters)"),
        ("-" + "9" * 30, f"JobId must be >= {-(2**63)}, got '-{'9' * 30}'"),
    ],
)
def test_integers_past_64_bits_are_refused_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        params(JobId=text).int("JobId")
    assert (caught.value.field, caught.value.message) == ("JobId", message)
    with pytest.raises(InvalidParameter) as listed:
        params(JobIdList=f"[1, {text}]").ints("JobIdList")
    assert listed.value.field == "JobIdList"


def test_the_64_bit_edges_and_leading_zeros_are_accepted() -> None:
    assert params(A=str(2**63 - 1)).int("A") == 2**63 - 1
    assert params(A=str(-(2**63))).int("A") == -(2**63)
    assert params(A="0" * 30 + "12").int("A") == 12
