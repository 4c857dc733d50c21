"""The wire bounds of the native API's numbers and strings, declared once.

Each is an annotated type: pydantic refuses a value outside it (422 naming the field) before
any service sees it, and the OpenAPI document states it (``minimum``/``maximum``,
``maxLength``). Integers are 64-bit at most (what the database stores); the rules of what a
job's fields may be beyond that are the service's (service/validation.py).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le, MaxLen

from tickwork.domain.limits import (
    ID_MAX,
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

Int64 = Annotated[int, Ge(INT64_MIN), Le(INT64_MAX)]
Id = Annotated[int, Ge(1), Le(ID_MAX)]
Page = Annotated[int, Ge(1), Le(PAGE_MAX)]
PageSize = Annotated[int, Ge(1), Le(PAGE_SIZE_MAX)]
Offset = Annotated[int, Ge(0), Le(INT64_MAX)]
LogLimit = Annotated[int, Ge(1), Le(LOG_LIMIT)]
Ident = Annotated[str, MaxLen(IDENT_MAX)]
SearchText = Annotated[str, MaxLen(SEARCH_TEXT_MAX)]
ShortText = Annotated[str, MaxLen(10_000)]
Text = Annotated[str, MaxLen(TEXT_MAX)]
