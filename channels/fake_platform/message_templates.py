"""WhatsApp Business Management API: GET /<version>/<WABA_ID>/message_templates, the account's
templates with their name, language code, category, status and components (enough of it for
campaigns/whatsapp_templates.py). Self-contained: the app asks `answer` first."""

import re

from .protocol import HttpRequest, Response, json_response

_PATH = re.compile(r"^/(?:v\d+(?:\.\d+)?/)?([^/]+)/message_templates$")


def _body(text: str) -> dict:
    return {"type": "BODY", "text": text}


TEMPLATES = [
    {"id": "1001", "name": "weekly_menu", "language": "en_US", "category": "MARKETING",
     "status": "APPROVED", "components": [_body("Hi {{1}}! Next week's menu: {{2}}")]},
    {"id": "1002", "name": "weekly_menu", "language": "uk", "category": "MARKETING",
     "status": "APPROVED", "components": [_body("{{1}}, меню на тиждень: {{2}}")]},
    {"id": "1003", "name": "weekly_menu", "language": "ru", "category": "MARKETING",
     "status": "APPROVED", "components": [_body("{{1}}, меню на неделю: {{2}}")]},
    {"id": "1004", "name": "order_survey", "language": "en_US", "category": "UTILITY",
     "status": "PENDING", "components": [_body("How was order {{1}}?")]},
]  # fmt: skip


def answer(request: HttpRequest) -> Response | None:
    """The template list for a GET on the edge, None for any other request."""
    match = _PATH.match(request.path)
    if request.method != "GET" or match is None:
        return None
    if not request.headers.get("authorization", "").startswith("Bearer "):
        return json_response(401, {"error": {"message": "Invalid OAuth access token", "code": 190}})
    return json_response(200, {"data": TEMPLATES, "paging": {"cursors": {}}})
