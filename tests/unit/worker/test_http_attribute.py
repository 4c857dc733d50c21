"""parse_http_attribute: the content of an http job."""

from __future__ import annotations

import json

import pytest

from tickwork.domain.errors import InvalidParameter
from tickwork.worker.executors.http import (
    DEFAULT_TIMEOUT_S,
    HttpAttribute,
    json_text,
    parse_http_attribute,
)


def test_full_attribute() -> None:
    content = json.dumps(
        {
            "url": " https://example.com/hook?x=1 ",
            "method": "post",
            "timeout": 30,
            "respKey": "code",
            "respValue": 200,
            "headers": {"X-Token": "t"},
            "cookie": "a=b",
        }
    )
    assert parse_http_attribute(content) == HttpAttribute(
        url="https://example.com/hook?x=1",
        method="POST",
        timeout=30.0,
        resp_key="code",
        resp_value="200",
        headers=(("X-Token", "t"),),
        cookie="a=b",
    )


def test_defaults() -> None:
    attribute = parse_http_attribute('{"url": "http://h"}')
    assert (attribute.method, attribute.timeout) == ("GET", DEFAULT_TIMEOUT_S)
    assert (attribute.resp_key, attribute.resp_value) == ("", "")


def test_timeout_may_be_a_numeric_string() -> None:
    assert parse_http_attribute('{"url": "http://h", "timeout": "2.5"}').timeout == 2.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "needs the HttpAttribute JSON"),
        ("   ", "needs the HttpAttribute JSON"),
        ("not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ("{}", "url is missing"),
        ('{"url": 5}', "url is missing"),
        ('{"url": "example.com/x"}', "url must be an absolute http:// or https:// URL"),
        ('{"url": "http://"}', "url must be an absolute http:// or https:// URL"),
        ('{"url": "http://h", "method": "BREW"}', "method must be one of"),
        ('{"url": "http://h", "method": 1}', "method must be one of"),
        ('{"url": "http://h", "timeout": 0}', "timeout must be between 0 and"),
        ('{"url": "http://h", "timeout": -3}', "timeout must be between 0 and"),
        ('{"url": "http://h", "timeout": "soon"}', "timeout must be a number of seconds"),
        ('{"url": "http://h", "timeout": true}', "timeout must be a number of seconds"),
        ('{"url": "http://h", "timeout": 1e999}', "timeout must be between 0 and"),
        ('{"url": "http://h", "respKey": {"a": 1}}', "respKey must be a string"),
        ('{"url": "http://h", "headers": ["a"]}', "headers must be an object of strings"),
    ],
)
def test_bad_content(content: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_http_attribute(content)
    assert caught.value.field == "content"
    assert caught.value.message.startswith("content: ")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("value", "text"),
    [("ok", "ok"), (200, "200"), (1.5, "1.5"), (True, "true"), (None, "null"), ([1], "[1]")],
)
def test_json_values_compare_as_strings(value: object, text: str) -> None:
    assert json_text(value) == text
