"""Whatever a client sends, the API answers 4xx, never 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.models import Order
from tests.factories import OrderFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    ORDER,
    api_fixture,
    api_key_fixture,
    order_body,
)

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/orders/"
EVENTS = "/api/v1/events/"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Bodies shaped like an order, each field replaced by anything at all (or left out).
order_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.just(value)
        for key, value in ORDER.items()
    }
    | {"customer": st.fixed_dictionaries(
        {}, optional={k: json_values | st.just(v) for k, v in ORDER["customer"].items()}
    ) | json_values},
)  # fmt: skip
NO_DB_FIXTURE_CHECK = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@NO_DB_FIXTURE_CHECK
@given(body=json_values)
def test_it_never_answers_500_to_any_json(api, body):
    response = api.post(ORDERS, json.dumps(body), content_type="application/json")

    assert response.status_code < 500


@NO_DB_FIXTURE_CHECK
@given(body=order_like)
def test_it_never_answers_500_to_an_order_with_wrong_parts(api, body):
    response = api.post(ORDERS, json.dumps(body), content_type="application/json")

    assert response.status_code in (200, 201, 400), response.content


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"order"',
        b"42",
        b"null",
        b'{"external_id": {"nested": [1, {"x": null}]}}',
        b'{"external_id": "A", "customer": {"external_id": ["C"]}, "items": {"a": 1}}',
        b'{"external_id": "A", "total": 1' + b"0" * 5000 + b"}",
        b'{"external_id": "A", "total": 1e999999}',
        b'{"external_id": "A", "items": [{"quantity": 99999999999999999999999}]}',
        b'{"external_id": "A\\u0000B"}',
        b'{"external_id": "\\ud800"}',
        b'{"external_id": "\xff\xfe"}',
        b'{"external_id": "A", "customer": {"external_id": "C", "time_zone": "\\u0000"}}',
        b'{"external_id": "A", "customer": {"external_id": "C", "email": "a@\\ud800\\ud800.com"}}',
        b'{"external_id": "\xd0\x97\xd0\xb0\xd0\xba\xd0\xb0\xd0\xb7 \xf0\x9f\x8d\xb2"}',
        b'{"a": ' * 2000 + b"1" + b"}" * 2000,
        b"{'single': 'quotes'}",
        b'{"external_id": NaN}',
        b"",
        b"\x00\x00\x00",
    ],
    ids=lambda raw: repr(raw[:40]),
)
def test_it_answers_400_to_garbage(api, raw):
    response = api.post(ORDERS, raw, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "e", "type": "order.paid", "order_external_id": "A-1", '
        b'"occurred_at": "2026-01-01T00:00:00Z", "data": {"k\\u0000": 1}}',
        b'{"event_id": "e", "type": "order.paid", "order_external_id": "A-1", '
        b'"occurred_at": "2026-01-01T00:00:00Z", "data": {"k": "\\udfff"}}',
        b'{"event_id": "e", "type": "order.paid", "order_external_id": "A-1", '
        b'"occurred_at": "99999-01-01T00:00:00Z"}',
        b'{"event_id": "e", "type": "order.paid", "order_external_id": "A-1", '
        b'"occurred_at": "2026-01-01T00:00:00Z", "data": ' + b'{"a": ' * 30 + b"1" + b"}" * 31,
    ],
    ids=["nul-key", "surrogate", "year-99999", "too-deep"],
)
def test_it_answers_400_to_garbage_events(api, raw):
    OrderFactory(external_id="A-1")

    response = api.post(EVENTS, raw, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("url", [ORDERS, EVENTS])
def test_it_answers_413_to_a_body_over_the_limit(api, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = order_body(customer={"external_id": "C", "name": "x" * 2000})

    response = api.post(url, body, format="json")

    assert response.status_code == 413
    assert "detail" in response.json()
    assert not Order.objects.exists()


def test_it_answers_413_from_the_declared_length_before_reading_the_body(api, settings):
    # given a request that declares more than the limit (the body itself is small)
    declared = str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    # when
    response = api.generic(
        "POST", ORDERS, b"{}", content_type="application/json", CONTENT_LENGTH=declared
    )

    # then: refused on the header alone, never parsed (parsing "{}" would have been a 400)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
def test_it_answers_415_to_anything_but_json(api, content_type):
    response = api.post(ORDERS, b"external_id=A-1", content_type=content_type)

    assert response.status_code == 415
    assert "detail" in response.json()


def test_it_answers_400_to_malformed_json(api):
    response = api.post(ORDERS, b'{"external_id": "A-1",', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
