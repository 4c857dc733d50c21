"""The wire bounds of the native API's numbers and strings, declared once.

Each is an annotated type: pydantic refuses a value outside it (422 naming the field) before
any service sees it, and the OpenAPI document states it (``minimum``/``maximum``,
``maxLength``, ``pattern``). Integers fit what the database stores them in (64 bits; a job's
counts and durations 32), and no text holds U+0000, which PostgreSQL cannot store. What a
job's fields may be beyond that is the service's rule (service/validation.py).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import StringConstraints

from tickwork.domain.limits import (
    ID_MAX,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    PAGE_MAX,
    PAGE_SIZE_MAX,
    SEARCH_TEXT_MAX,
)
from tickwork.service.instances import LOG_LIMIT

__all__ = [
    "IDENT_MAX",
    "TEXT_MAX",
    "Id",
    "Ident",
    "Int32",
    "Int64",
    "LogLimit",
    "Offset",
    "Page",
    "PageSize",
    "SearchText",
    "ShortText",
    "Text",
]

IDENT_MAX = 255
"""Names that are keys (namespaces, app groups, calendars, access keys): the database column's
width."""
TEXT_MAX = 1_000_000
"""Free text (a script, parameters, a description): the service's limit on a job's content;
the body cap (max_body_bytes) bounds a request's texts together."""

# No text may hold U+0000: PostgreSQL cannot store it (nor compare with it).
_NO_NUL = r"^[^\x00]*$"

Int32 = Annotated[int, Ge(INT32_MIN), Le(INT32_MAX)]
Int64 = Annotated[int, Ge(INT64_MIN), Le(INT64_MAX)]
Id = Annotated[int, Ge(1), Le(ID_MAX)]
Page = Annotated[int, Ge(1), Le(PAGE_MAX)]
PageSize = Annotated[int, Ge(1), Le(PAGE_SIZE_MAX)]
Offset = Annotated[int, Ge(0), Le(INT64_MAX)]
LogLimit = Annotated[int, Ge(1), Le(LOG_LIMIT)]
Ident = Annotated[str, StringConstraints(max_length=IDENT_MAX, pattern=_NO_NUL)]
SearchText = Annotated[str, StringConstraints(max_length=SEARCH_TEXT_MAX, pattern=_NO_NUL)]
ShortText = Annotated[str, StringConstraints(max_length=10_000, pattern=_NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=_NO_NUL)]
