"""Request-body decoding shared by the platform routes: JSON, urlencoded forms, multipart."""

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl


def parse_body(content_type: str, body: bytes) -> tuple[Any, dict[str, str] | None]:
    """Return (parsed JSON or None, form fields or None) for a request body."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        return None, dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if mime == "multipart/form-data":
        # Telegram clients upload photos this way; only the text fields matter to the fake.
        return None, _multipart_fields(content_type, body)
    if not body:
        return None, None
    # Clients do not always label JSON (some send text/plain), so try it whatever the type says.
    try:
        return json.loads(body), None
    except ValueError:
        return None, None


def _multipart_fields(content_type: str, body: bytes) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        # An uploaded file is represented by its name: enough to say "a photo was sent".
        fields[name] = f"<file {filename}>" if filename else text
    return fields


def maybe_json(value: Any) -> Any:
    """Decode a JSON-encoded string field (form-encoded reply_markup, keyboard, media...)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
