"""JSON from callers, parsed with a bound on its nesting.

``json.loads`` recurses once per level: a body of 100,000 ``[`` raised RecursionError (a 500)
instead of a clear refusal. Every place that parses JSON a caller wrote (native bodies, JSON in
SchedulerX parameters, an http job's content, worker frames) goes through ``loads`` or
``check_depth``, which refuse a document nested deeper than ``MAX_JSON_DEPTH`` naming the field.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.limits import MAX_JSON_DEPTH

__all__ = ["check_depth", "loads", "too_deep"]

# A JSON string, escapes included (the unrolled form: linear, no backtracking).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def too_deep(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` opens more than ``limit`` arrays or objects inside one another
    (brackets inside strings do not count)."""
    if len(text) <= limit:
        return False  # too short to open more than ``limit`` brackets
    if isinstance(text, bytes | bytearray):
        # Structural characters are ASCII and UTF-8 continuation bytes never are: latin-1
        # maps every byte to one character, so the brackets are where they were.
        text = bytes(text).decode("latin-1")
    if text.count("[") + text.count("{") <= limit:
        return False  # the usual case, found at the speed of str.count
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return bool(brackets) and max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def check_depth(text: str | bytes, *, field: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise InvalidParameter naming ``field`` when ``text`` nests deeper than ``limit``."""
    if too_deep(text, limit):
        raise InvalidParameter(
            f"{field} is nested deeper than {limit} levels of arrays and objects", field=field
        )


def loads(text: str | bytes, *, field: str, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` of a caller's document, refused (InvalidParameter naming ``field``) when
    it nests deeper than ``limit``; a malformed one raises ``json.JSONDecodeError`` as
    ``json.loads`` does, for the caller's own message."""
    check_depth(text, field=field, limit=limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # a number of more than 4,300 digits, which int() refuses
        raise InvalidParameter(
            f"{field} holds a number with too many digits", field=field
        ) from None
    except RecursionError:  # not reached past check_depth; kept so it can never be a 500
        raise InvalidParameter(f"{field} is nested too deeply", field=field) from None
