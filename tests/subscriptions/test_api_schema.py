"""The OpenAPI schema validates, and every answer it documents for /api/v1/ is produced as
documented: its status, and a body that validates against the schema documented for it."""

import copy
import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from jsonschema import Draft202012Validator, FormatChecker
from rest_framework.test import APIClient

from subscriptions.models import ApiKey, ConsentEvent
from tests.factories import CustomerFactory, OrderFactory, SubscriptionFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    event_body,
    order_body,
)

pytestmark = pytest.mark.django_db
BIG = {"customer": {"external_id": "C", "name": "x" * 2000}}


@cache
def _generated() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _schema() -> dict:
    return copy.deepcopy(_generated())


# --- bodies against the documented schema -------------------------------------------------------
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable` becomes a null alternative, and
    an object with listed properties allows no others (an undocumented field is a failure)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items() if key != "example"}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def _documented(method: str, path: str, status: int) -> tuple[str, dict]:
    """The content type and JSON Schema the schema documents for this answer."""
    schema = _generated()
    response = schema["paths"][path][method]["responses"][str(status)]
    [(content_type, media)] = response["content"].items()
    components = _json_schema(schema["components"])
    return content_type, {**_json_schema(media["schema"]), "components": components}


def _assert_documented_body(method: str, path: str, status: int, response) -> bytes:
    """Check the answer's content type and body against the schema; the body, read."""
    content_type, body_schema = _documented(method, path, status)
    assert response["Content-Type"].split(";")[0] == content_type
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode() if content_type == "text/csv" else json.loads(raw)
    validator = Draft202012Validator(body_schema, format_checker=FORMATS)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], errors
    return raw


def test_it_generates_a_valid_schema_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())
    validate_schema(_schema())


def _without_key(method: str, path: str, body: dict | None = None):
    return getattr(APIClient(), method)(path, body, format="json")


def _post(path: str, body: object, **extra) -> Callable:
    return lambda api: api.post(path, body, format="json", **extra)


def _a1(**changes) -> dict:
    """Order A-1 of customer C-1, as the shop would post it."""
    body = order_body(external_id="A-1", **changes)
    body["customer"]["external_id"] = "C-1"
    return body


def _repeat_event_differently(api):
    api.post("/api/v1/events/", event_body(order_external_id="A-1"), format="json")
    changed = event_body(order_external_id="A-1", type="order.paid")
    return api.post("/api/v1/events/", changed, format="json")


def _too_big(path: str) -> Callable:
    def post(api):
        from django.conf import settings

        data = order_body(**BIG) if path.endswith("orders/") else event_body(data=BIG)
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE, saved = 1000, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            return api.post(path, data, format="json")
        finally:
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE = saved

    return post


def _form(path: str) -> Callable:
    return lambda api: api.post(path, b"a=b", content_type="application/x-www-form-urlencoded")


def _read_only_key(method: str, path: str, body: dict | None = None) -> Callable:
    """The call made with a read-only key (403 on what such a key may not do)."""

    def call(api):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKey.issue('stats', 'read')[1]}")
        return getattr(client, method)(path, body, format="json")

    return call


def _unacceptable(method: str, path: str, body: dict | None = None) -> Callable:
    """The call made asking for a type the API does not answer (406)."""
    return lambda api: getattr(api, method)(path, body, format="json", HTTP_ACCEPT="text/html")


def _over_rate(method: str, path: str, body: dict | None = None) -> Callable:
    """The call made once more than the key's rate allows (429)."""

    def call(api):
        from django.conf import settings

        from subscriptions.api.auth import ApiKeyRateThrottle

        settings.API_KEY_RATE, saved = "1/h", settings.API_KEY_RATE
        # Both in one fixed window, whatever the hour (the throttle counts per window).
        ApiKeyRateThrottle.timer = staticmethod(lambda: 1_800_000_010.0)
        try:
            getattr(api, method)(path, body, format="json")
            return getattr(api, method)(path, body, format="json")
        finally:
            settings.API_KEY_RATE = saved
            del ApiKeyRateThrottle.timer  # back to SimpleRateThrottle's time.time

    return call


# (method, path as documented, status) -> how to make that answer happen with a keyed client.
ORDERS, EVENTS = "/api/v1/orders/", "/api/v1/events/"
BATCH = "/api/v1/events/batch/"
LINKS = "/api/v1/orders/{external_id}/subscribe-links/"
SUBS = "/api/v1/customers/{external_id}/subscriptions/"
UNSUB = "/api/v1/customers/{external_id}/unsubscribe/"
CONSENTS = "/api/v1/customers/{external_id}/consents/"
CSV = "/api/v1/consents.csv"
ERASE = "/api/v1/customers/{external_id}/erase/"
EXPORT = "/api/v1/customers/{external_id}/export/"
PRODUCE: dict[tuple[str, str, int], Callable] = {
    ("post", ORDERS, 201): _post(ORDERS, order_body(external_id="NEW")),
    ("post", ORDERS, 200): _post(ORDERS, _a1(status="paid")),
    ("post", ORDERS, 400): _post(ORDERS, order_body(currency="rubles")),
    ("post", ORDERS, 401): lambda api: _without_key("post", ORDERS, order_body()),
    ("post", ORDERS, 413): _too_big(ORDERS),
    ("post", ORDERS, 415): _form(ORDERS),
    ("get", LINKS, 200): lambda api: api.get("/api/v1/orders/A-1/subscribe-links/"),
    ("get", LINKS, 401): lambda api: _without_key("get", "/api/v1/orders/A-1/subscribe-links/"),
    ("get", LINKS, 404): lambda api: api.get("/api/v1/orders/NOPE/subscribe-links/"),
    ("post", EVENTS, 201): _post(EVENTS, event_body(order_external_id="A-1")),
    ("post", EVENTS, 400): _post(EVENTS, event_body(order_external_id="NOPE")),
    ("post", EVENTS, 401): lambda api: _without_key("post", EVENTS, event_body()),
    ("post", EVENTS, 409): _repeat_event_differently,
    ("post", EVENTS, 413): _too_big(EVENTS),
    ("post", EVENTS, 415): _form(EVENTS),
    ("post", BATCH, 200): _post(BATCH, {"events": [event_body(order_external_id="A-1")]}),
    ("post", BATCH, 400): _post(BATCH, {"events": []}),
    ("post", BATCH, 401): lambda api: _without_key("post", BATCH, {"events": [event_body()]}),
    ("post", BATCH, 413): _too_big(BATCH),
    ("post", BATCH, 415): _form(BATCH),
    ("get", SUBS, 200): lambda api: api.get("/api/v1/customers/C-1/subscriptions/"),
    ("get", SUBS, 401): lambda api: _without_key("get", "/api/v1/customers/C-1/subscriptions/"),
    ("get", SUBS, 404): lambda api: api.get("/api/v1/customers/NOPE/subscriptions/"),
    ("post", UNSUB, 200): lambda api: api.post("/api/v1/customers/C-1/unsubscribe/"),
    ("post", UNSUB, 401): lambda api: _without_key("post", "/api/v1/customers/C-1/unsubscribe/"),
    ("post", UNSUB, 404): lambda api: api.post("/api/v1/customers/NOPE/unsubscribe/"),
    ("get", CONSENTS, 200): lambda api: api.get("/api/v1/customers/C-1/consents/"),
    ("get", CONSENTS, 401): lambda api: _without_key("get", "/api/v1/customers/C-1/consents/"),
    ("get", CONSENTS, 404): lambda api: api.get("/api/v1/customers/NOPE/consents/"),
    ("get", CSV, 200): lambda api: api.get(CSV, {"customer": "C-1"}),
    ("get", CSV, 400): lambda api: api.get(CSV, {"since": "soon"}),
    ("get", CSV, 401): lambda api: _without_key("get", CSV),
    ("get", CSV, 404): lambda api: api.get(CSV, {"customer": "NOPE"}),
    ("post", ERASE, 200): lambda api: api.post("/api/v1/customers/C-1/erase/"),
    ("post", ERASE, 401): lambda api: _without_key("post", "/api/v1/customers/C-1/erase/"),
    ("post", ERASE, 404): lambda api: api.post("/api/v1/customers/NOPE/erase/"),
    ("get", EXPORT, 200): lambda api: api.get("/api/v1/customers/C-1/export/"),
    ("get", EXPORT, 401): lambda api: _without_key("get", "/api/v1/customers/C-1/export/"),
    ("get", EXPORT, 404): lambda api: api.get("/api/v1/customers/NOPE/export/"),
}
# Every keyed operation also answers 403 to a read-only key and 429 over the key's rate, and
# 406 to an Accept it cannot meet (the CSV export answers CSV whatever Accept says).
CALLS = {
    ("post", ORDERS): ("/api/v1/orders/", order_body()),
    ("get", LINKS): ("/api/v1/orders/A-1/subscribe-links/", None),
    ("post", EVENTS): ("/api/v1/events/", event_body(order_external_id="A-1")),
    ("post", BATCH): (BATCH, {"events": [event_body(order_external_id="A-1")]}),
    ("get", SUBS): ("/api/v1/customers/C-1/subscriptions/", None),
    ("post", UNSUB): ("/api/v1/customers/C-1/unsubscribe/", None),
    ("get", CONSENTS): ("/api/v1/customers/C-1/consents/", None),
    ("get", CSV): (CSV, None),
    ("post", ERASE): ("/api/v1/customers/C-1/erase/", None),
    ("get", EXPORT): ("/api/v1/customers/C-1/export/", None),
}
for (method, path), (url, body) in CALLS.items():
    PRODUCE[(method, path, 403)] = _read_only_key(method, url, body)
    PRODUCE[(method, path, 429)] = _over_rate(method, url, body)
    if path != CSV:
        PRODUCE[(method, path, 406)] = _unacceptable(method, url, body)


def test_it_documents_exactly_the_statuses_this_table_produces():
    documented = {
        (method, path, int(status))
        for path, operations in _schema()["paths"].items()
        if path.startswith("/api/v1/") and path in {key[1] for key in PRODUCE}
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    v1_paths = {path for path in _schema()["paths"] if path.startswith("/api/v1/")}
    ours = {key[1] for key in PRODUCE}

    assert documented == set(PRODUCE)
    # Paths added later by other apps (campaigns) are theirs to cover; ours are all here.
    assert ours <= v1_paths


@pytest.mark.parametrize(("method", "path", "status"), sorted(PRODUCE))
def test_it_produces_each_documented_answer(api, method, path, status):
    # given an order A-1 of customer C-1, subscribed with a consent on record (so lists have rows)
    order = OrderFactory(external_id="A-1", customer=CustomerFactory(external_id="C-1"))
    subscription = SubscriptionFactory(customer=order.customer, order=order)
    ConsentEvent.objects.create(
        customer=order.customer, subscription=subscription, kind="opt_in", source="deep_link"
    )

    # when
    response = PRODUCE[(method, path, status)](api)

    # then the status and the body are those the schema documents
    assert response.status_code == status
    body = _assert_documented_body(method, path, status, response)
    assert body.strip() not in (b"", b"[]", b"{}")


def test_it_catches_a_body_that_strays_from_the_schema():
    # the check itself: an undocumented field, a missing one, a wrong type, a bad time all fail
    _, order = _documented("post", ORDERS, 201)
    validator = Draft202012Validator(order, format_checker=FORMATS)
    assert not validator.is_valid({"external_id": "A-1"})  # fields missing
    _, error = _documented("get", LINKS, 404)
    validator = Draft202012Validator(error, format_checker=FORMATS)
    assert validator.is_valid({"detail": "Not found."})
    assert not validator.is_valid({"detail": "Not found.", "placed_at": "x"})  # undocumented
    assert not validator.is_valid({"detail": 404})
    _, consents = _documented("get", CONSENTS, 200)
    row = {"occurred_at": "2026-11-20", "channel": None, "platform_user_id": None,
           "kind": "opt_in", "source": "api", "evidence": "", "topics": []}  # fmt: skip
    validator = Draft202012Validator(consents, format_checker=FORMATS)
    assert not validator.is_valid([row])  # a date is not a date-time with an offset
    assert validator.is_valid([row | {"occurred_at": "2026-11-20T10:00:00Z"}])


def test_it_serves_the_docs_page_and_its_assets_without_a_cdn(client):
    page = client.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "drf_spectacular_sidecar" in html
    assert (
        client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css").status_code
        == 200
    )


def test_it_documents_the_api_key_scheme():
    schema = _schema()

    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert schema["paths"]["/api/v1/orders/"]["post"]["security"] == [{"ApiKey": []}]
