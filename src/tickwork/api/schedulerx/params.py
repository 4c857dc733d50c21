"""The parameters of an RPC call: query and form merged, read with the field's own name.

Lists come as ``Name.1.Field=...`` (lists of objects) or ``Name.1=...`` (lists of values);
a JSON array in ``Name`` is also accepted. Booleans arrive as ``true``/``True``. Every getter
raises InvalidParameter naming the parameter, in the SchedulerX spelling, when it is missing or
malformed.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tickwork.domain import bounded_json
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.limits import INT64_MAX, INT64_MIN

# The getters below are named str, int and bool; inside the class body those names are the
# methods, so annotations there use these aliases of the builtins.
_Str = builtins.str
_Int = builtins.int
_Bool = builtins.bool

_INDEXED = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)\.(?P<index>[0-9]+)(?:\.(?P<field>.+))?$")
# A whole number as the wire writes it: ASCII digits, an optional sign, no "_" or spaces inside.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


class MissingParameter(InvalidParameter):
    """A required parameter is missing."""

    code = "MissingParameter"


class Params:
    def __init__(self, pairs: Iterable[tuple[_Str, _Str]]) -> None:
        self._values: dict[_Str, _Str] = {}
        for key, value in pairs:
            self._values[key] = value

    @classmethod
    def of(cls, mapping: Mapping[_Str, Any]) -> Params:
        return cls((k, _scalar(v)) for k, v in mapping.items())

    def names(self) -> set[_Str]:
        return set(self._values)

    def has(self, name: _Str) -> _Bool:
        return name in self._values and self._values[name] != ""

    def raw(self, name: _Str) -> _Str | None:
        return self._values.get(name)

    # -- scalars -----------------------------------------------------------------------------
    def str(
        self, name: _Str, default: _Str | None = None, *, required: _Bool = False
    ) -> _Str | None:
        value = self._values.get(name)
        if value is None or (value == "" and required):
            if required:
                raise MissingParameter(f"{name} is mandatory for this action", field=name)
            return default
        if "\x00" in value:  # PostgreSQL can neither store nor compare it
            raise InvalidParameter(f"{name} must not hold the character U+0000", field=name)
        return value

    def req(self, name: _Str) -> _Str:
        value = self.str(name, required=True)
        assert value is not None
        return value

    def int(
        self,
        name: _Str,
        default: _Int | None = None,
        *,
        required: _Bool = False,
        minimum: _Int | None = None,
        maximum: _Int | None = None,
    ) -> _Int | None:
        text = self.str(name, required=required)
        if text is None or text.strip() == "":
            if required:
                raise MissingParameter(f"{name} is mandatory for this action", field=name)
            return default
        return _integer(name, text, INT64_MIN if minimum is None else minimum, maximum)

    def req_int(self, name: _Str, *, minimum: _Int | None = None) -> _Int:
        value = self.int(name, required=True, minimum=minimum)
        assert value is not None
        return value

    def bool(self, name: _Str, default: _Bool | None = None) -> _Bool | None:
        text = self.str(name)
        if text is None or text.strip() == "":
            return default
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidParameter(f"{name} must be true or false, got {text!r}", field=name)

    # -- lists -------------------------------------------------------------------------------
    def objects(self, name: _Str) -> list[dict[_Str, _Str]]:
        """``Name.1.Field=v`` pairs as a list of {Field: v}, in index order; or a JSON array
        of objects in ``Name`` (a nested array or object comes back as its JSON text)."""
        found: dict[_Int, dict[_Str, _Str]] = {}
        for key, value in self._values.items():
            match = _INDEXED.match(key)
            if match and match["name"] == name and match["field"]:
                found.setdefault(_Int(match["index"]), {})[match["field"]] = value
        if found:
            return [found[i] for i in sorted(found)]
        text = self._values.get(name)
        if not text:
            return []
        parsed = _json_array(name, text)
        if not all(isinstance(item, dict) for item in parsed):
            raise InvalidParameter(f"{name} must be a list of objects", field=name)
        return [{_Str(k): _scalar(v) for k, v in item.items()} for item in parsed]

    def values(self, name: _Str) -> list[_Str]:
        """``Name.1=v`` pairs as a list, in index order; or a JSON array (or a comma-separated
        list) in ``Name``."""
        found: dict[_Int, _Str] = {}
        for key, value in self._values.items():
            match = _INDEXED.match(key)
            if match and match["name"] == name and not match["field"]:
                found[_Int(match["index"])] = value
        if found:
            return [found[i] for i in sorted(found)]
        text = self._values.get(name)
        if not text:
            return []
        if text.lstrip().startswith("["):
            return [_scalar(v) for v in _json_array(name, text)]
        return [part.strip() for part in text.split(",") if part.strip()]

    def ints(self, name: _Str) -> list[_Int]:
        return [
            _integer(name, value, INT64_MIN, None, "a list of integers")
            for value in self.values(name)
        ]


def _integer(
    name: str, text: str, minimum: int, maximum: int | None, kind: str = "an integer"
) -> int:
    """A whole number within ``minimum..maximum`` (within 64 bits in any case: every number
    is stored in a signed 64-bit column, and a longer one would overflow there)."""
    stripped = text.strip()
    if not _INTEGER.match(stripped):
        raise InvalidParameter(f"{name} must be {kind}, got {_shown(text)}", field=name)
    maximum = INT64_MAX if maximum is None else min(maximum, INT64_MAX)
    minimum = max(minimum, INT64_MIN)
    if len(stripped.lstrip("+-").lstrip("0")) > 19:
        # past 64 bits whatever the sign; int() of thousands of digits is slow (and past
        # 4,300 refused), so it is not asked
        value = minimum - 1 if stripped.startswith("-") else maximum + 1
    else:
        value = int(stripped)
    shown = str(value) if minimum <= value <= maximum or len(stripped) <= 20 else _shown(text)
    if value < minimum:
        raise InvalidParameter(f"{name} must be >= {minimum}, got {shown}", field=name)
    if value > maximum:
        raise InvalidParameter(f"{name} must be <= {maximum}, got {shown}", field=name)
    return value


def _shown(text: str) -> str:
    """A caller's value in a message: quoted, and cut when it is long."""
    return repr(text) if len(text) <= 100 else f"{text[:100]!r}... ({len(text)} characters)"


def _json_array(name: str, text: str) -> list[Any]:
    try:
        parsed = bounded_json.loads(text, field=name)
    except json.JSONDecodeError:
        raise InvalidParameter(f"{name} must be a JSON array", field=name) from None
    if not isinstance(parsed, list):
        raise InvalidParameter(f"{name} must be a JSON array", field=name)
    return parsed


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "" if value is None else str(value)
