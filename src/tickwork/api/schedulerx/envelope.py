"""The SchedulerX answer: ``{RequestId, Code, Success, Message, Data}`` as JSON, or as XML
(``<{Action}Response>``) when the call asks for it (``Format=XML`` or an XML Accept header)."""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

# An element name we are willing to write (the action comes from the caller: anything else
# would let a caller break the document, so it becomes <ErrorResponse>).
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Characters XML 1.0 cannot carry, not even as references (controls other than tab, newline and
# carriage return; lone surrogates; U+FFFE/U+FFFF): a log line may hold them (ANSI colours).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def wants_xml(format_param: str | None, accept: str | None) -> bool:
    if format_param:
        return format_param.strip().upper() == "XML"
    accept = (accept or "").lower()
    return "xml" in accept and "json" not in accept


def render(action: str, body: dict[str, Any], *, status: int = 200, xml: bool = False) -> Response:
    if xml:
        root = f"{action if action and _NAME.match(action) else 'Error'}Response"
        text = f'<?xml version="1.0" encoding="UTF-8"?><{root}>{_xml(body)}</{root}>'
        return Response(text, status_code=status, media_type="application/xml")
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
    )


def _xml(value: Any, tag: str | None = None) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(v, str(k)) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>" if tag else inner
    if isinstance(value, list):
        # Lists repeat their element's tag, as the XML form of the public API does.
        return "".join(_xml(item, tag) for item in value)
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = _text(str(value))
    return f"<{tag}>{text}</{tag}>" if tag else text


def _text(value: str) -> str:
    """Escaped character data; characters XML 1.0 cannot hold are written as ``\\u`` and
    four hex digits."""
    value = _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return escape(value)
