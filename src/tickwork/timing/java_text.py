"""Java's string operations with the edge cases Quartz's cron parser depends on.

Quartz 2.3.2 parses with ``charAt``, ``substring``, ``Integer.parseInt``, ``StringTokenizer``
and ``String.trim``; where those throw (an index out of bounds, a number that is not one),
Quartz reports the expression invalid at offset 0. Porting them, throws included, keeps
tickwork's parser accepting and refusing exactly what Quartz does.
"""

from __future__ import annotations

import unicodedata

__all__ = ["JavaError", "char_at", "is_digit", "parse_int", "substring", "tokenize", "trim"]

_INT_MAX = 2**31 - 1


class JavaError(Exception):
    """A Java runtime exception inside Quartz's parser (Quartz reports it at offset 0)."""


def char_at(s: str, i: int) -> str:
    """Java's ``s.charAt(i)``."""
    if i < 0 or i >= len(s):
        raise JavaError(f"index {i} out of bounds for length {len(s)}")
    return s[i]


def substring(s: str, begin: int, end: int | None = None) -> str:
    """Java's ``s.substring(begin, end)``."""
    stop = len(s) if end is None else end
    if begin < 0 or stop > len(s) or begin > stop:
        raise JavaError(f"begin {begin}, end {stop}, length {len(s)}")
    return s[begin:stop]


def parse_int(text: str) -> int:
    """Java's Integer.parseInt: optional sign, decimal digits, 32-bit range."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body:
        raise JavaError(f'For input string: "{text}"')
    value = 0
    for ch in body:
        digit = unicodedata.decimal(ch, -1)
        if digit < 0:
            raise JavaError(f'For input string: "{text}"')
        value = value * 10 + digit
    value = -value if text[0] == "-" else value
    if value > _INT_MAX or value < -_INT_MAX - 1:
        raise JavaError(f'For input string: "{text}"')
    return value


def is_digit(c: str) -> bool:
    """An ASCII digit, 0 to 9."""
    return "0" <= c <= "9"


def tokenize(text: str, separators: str, base: int) -> list[tuple[str, int]]:
    """Java's StringTokenizer: the non-empty runs between separators, with their positions."""
    found: list[tuple[str, int]] = []
    start = -1
    for index, ch in enumerate(text):
        if ch in separators:
            if start >= 0:
                found.append((text[start:index], base + start))
                start = -1
        elif start < 0:
            start = index
    if start >= 0:
        found.append((text[start:], base + start))
    return found


def trim(token: str, pos: int) -> tuple[str, int]:
    """Java's ``token.trim()`` (drops chars <= space), with ``pos`` moved past what it drops."""
    begin, end = 0, len(token)
    while begin < end and token[begin] <= " ":
        begin += 1
    while end > begin and token[end - 1] <= " ":
        end -= 1
    return token[begin:end], pos + begin
