"""Graph API routing shared by Messenger and WhatsApp Cloud API (graph.facebook.com).

Both post to /<version>/<ID>/messages; the body's messaging_product tells them apart, exactly
as on the real host.
"""

import re
from typing import Any

from .base import Answer, Call, random_id
from .bodies import maybe_json
from .protocol import HttpRequest

# Version is optional ("/v25.0/<id>/messages", "/<id>/messages", "/me/messages").
_PATH = re.compile(r"^/(?:v\d+(?:\.\d+)?/)?([^/]+)/(messages|subscribed_apps)$")


def parse(request: HttpRequest) -> Call | None:
    """Read a Graph call; the platform is "whatsapp" or "messenger"."""
    match = _PATH.match(request.path)
    if match is None:
        return None
    node, edge = match.groups()
    # Graph takes parameters from the query, a form (JSON-encoded values) or a JSON body.
    params: dict[str, Any] = dict(request.query)
    body = request.json
    if isinstance(body, dict):
        params.update(body)
    elif request.form:
        params.update({key: maybe_json(value) for key, value in request.form.items()})
    platform = "whatsapp" if params.get("messaging_product") == "whatsapp" else "messenger"
    if edge == "subscribed_apps" and "messaging_product" not in params:
        # A Page subscription must name subscribed_fields; a WABA subscription takes none.
        platform = "messenger" if "subscribed_fields" in params else "whatsapp"
    recipient = _recipient(platform, edge, params)
    return Call(platform, edge, _token(request, params), recipient, params, node=node)


def _token(request: HttpRequest, params: dict[str, Any]) -> str:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return str(params.get("access_token", ""))


def _recipient(platform: str, edge: str, params: dict[str, Any]) -> str:
    if edge != "messages":
        return ""
    if platform == "whatsapp":
        return str(params.get("to", ""))
    recipient = params.get("recipient")
    if isinstance(recipient, dict):
        # Also user_ref (checkbox plugin) or a marketing-messages token stand for a person.
        for key in ("id", "user_ref", "notification_messages_token"):
            if recipient.get(key):
                return str(recipient[key])
    return ""


def error(
    status: int,
    code: int,
    message: str,
    subcode: int | None = None,
    details: str | None = None,
) -> Answer:
    """The Graph error envelope, with a fresh fbtrace_id like the real one."""
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    if details is not None:
        # WhatsApp adds error_data.details saying which parameter was wrong.
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    body["fbtrace_id"] = random_id("A", 12)
    return Answer(status, {"error": body})


def unauthorized(call: Call) -> Answer:
    if not call.token:
        return error(400, 2500, "An active access token must be used to query information.")
    return error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0
