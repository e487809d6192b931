"""Make verified platform content storable: JSON carries things PostgreSQL text and jsonb refuse.

A signed body may hold "\\u0000" (PostgreSQL text and jsonb cannot store NUL), a lone surrogate
such as "\\ud800" (not encodable as UTF-8) or NaN / Infinity (Python's json reads them, jsonb
does not). None of it means anything to us, so it is dropped or replaced rather than refused:
the rest of the event still counts.
"""

import math
from typing import Any

from channels.errors import MalformedPayload

# Platform payloads nest about six levels; far deeper is no platform's and would only spend
# the stack (json.loads accepts nearly a thousand levels).
MAX_DEPTH = 64


def storable_text(text: str) -> str:
    """`text` without NUL characters, its lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A UTF-16 round trip joins valid surrogate pairs and replaces the lone ones.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def masked_json(value: Any, secret: str, shown: str) -> Any:
    """`value` (decoded, storable JSON) with `secret` replaced by `shown` in every string."""
    if isinstance(value, str):
        return value.replace(secret, shown)
    if isinstance(value, dict):
        return {key: masked_json(item, secret, shown) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_json(item, secret, shown) for item in value]
    return value


def storable_json(value: Any, depth: int = 0) -> Any:
    """`value` (decoded JSON) with every string made storable and non-finite numbers as null.

    Raises MalformedPayload when it nests deeper than MAX_DEPTH.
    """
    if depth > MAX_DEPTH:
        raise MalformedPayload(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {
            storable_text(str(key)): storable_json(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [storable_json(item, depth + 1) for item in value]
    return value
