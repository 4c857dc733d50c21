"""The bounds every face and service share: what a number or a document from a caller may be.

Integers are stored in signed 64-bit columns (and the instants in them are milliseconds), so a
value outside ``INT64_MIN..INT64_MAX`` can never be stored or compared: it is refused where it
comes in, naming its field, instead of overflowing in the database driver (a 500).
"""

from __future__ import annotations

__all__ = [
    "ID_MAX",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_JSON_DEPTH",
    "PAGE_MAX",
    "PAGE_SIZE_MAX",
    "SEARCH_TEXT_MAX",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
"""What a job's counts and durations are stored in (and a calendar's year)."""
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
ID_MAX = INT64_MAX
"""Ids are 1..ID_MAX."""

PAGE_SIZE_MAX = 1000
PAGE_MAX = 1_000_000_000
"""A page number beyond which no listing reaches (10^9 pages of up to 1,000 items); it keeps
``(page - 1) * page_size`` well inside 64 bits."""

SEARCH_TEXT_MAX = 200
"""A substring filter (a job's name) longer than the longest name it could match is refused:
SQLite refuses LIKE patterns past 50,000 bytes, and no name is longer than 200 characters."""

MAX_JSON_DEPTH = 64
"""The deepest nesting of a JSON document from a caller. tickwork's own shapes nest 6 deep at
most (a worker frame: frame, messages, message, request, task, results); 64 leaves room for
what callers keep in free-form JSON while staying far from Python's recursion limit (1,000
frames), which parsing, echoing back (json.dumps) and the XML envelope all recurse against."""
