import json

import pytest

from subscriptions.api.services import ORDER_EVENT_TASK
from subscriptions.models import Order, OrderEvent
from tests.factories import OrderFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    event_body,
)
from tests.workers import queued_tasks

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/"


def test_it_records_the_event_and_moves_the_order_on(api, order):
    # when
    response = api.post(URL, event_body(), format="json")

    # then
    assert response.status_code == 201
    event = OrderEvent.objects.get()
    assert (event.event_id, event.type, event.order_id) == ("evt-1", "order.delivered", order.pk)
    assert event.data == {"courier": "Pyotr", "slot": [10, 12]}
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.delivered_at.isoformat() == "2026-11-21T09:00:00+00:00"
    body = response.json()
    assert body["event_id"] == "evt-1" and body["order_external_id"] == "A-1001"
    assert body["occurred_at"] == "2026-11-21T09:00:00Z"


def test_it_answers_a_repeat_exactly_as_the_first_time_and_changes_nothing(api, order):
    # given
    first = api.post(URL, event_body(), format="json")
    Order.objects.filter(pk=order.pk).update(status="cancelled")

    # when
    again = api.post(URL, event_body(), format="json")

    # then
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert OrderEvent.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == "cancelled"


@pytest.mark.parametrize(
    "change",
    [
        {"type": "order.paid"},
        {"occurred_at": "2026-11-21T12:00:01+03:00"},
        {"data": {"courier": "Someone else"}},
    ],
)
def test_it_answers_409_for_a_reused_event_id_with_another_body(api, order, change):
    api.post(URL, event_body(), format="json")

    response = api.post(URL, event_body(**change), format="json")

    assert response.status_code == 409
    assert "detail" in response.json()
    assert OrderEvent.objects.get().type == "order.delivered"


def test_it_answers_400_naming_an_unknown_order(api, db):
    response = api.post(URL, event_body(order_external_id="NOPE"), format="json")

    assert response.status_code == 400
    assert "order_external_id" in response.json()
    assert not OrderEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "order.shipped"}, "type"),
        ({"occurred_at": None}, "occurred_at"),
        # Not happened yet: a year-9999 event would also overflow every trigger delay.
        ({"occurred_at": "9999-12-31T23:00:00+00:00"}, "occurred_at"),
        ({"event_id": ""}, "event_id"),
        ({"data": [1, 2]}, "data"),
        ({"data": {"a": "b\u0000"}}, "data"),
    ],
)
def test_it_answers_400_naming_the_field(api, order, change, field):
    response = api.post(URL, event_body(**change), format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_it_answers_400_for_an_infinite_number_in_data(api, order):
    body = json.dumps(event_body(data={"deep": "INFINITY"})).replace('"INFINITY"', "1e400")

    response = api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "data" in response.json()


@pytest.mark.parametrize("raw", [b"null", b"[]", b"42", b'"evt-1"'])
def test_it_answers_400_with_a_non_field_error_for_a_body_that_is_no_object(api, order, raw):
    response = api.post(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert not OrderEvent.objects.exists()


def test_it_moves_status_forward_only_and_keeps_cancelled_final(api, order):
    # given delivered first, then a late "paid", then cancelled, then delivered again
    steps = [
        ("e1", "order.delivered"),
        ("e2", "order.paid"),
        ("e3", "order.cancelled"),
        ("e4", "order.delivered"),
    ]
    seen = []
    for event_id, kind in steps:
        api.post(URL, event_body(event_id=event_id, type=kind), format="json")
        order.refresh_from_db()
        seen.append(order.status)

    # then
    assert seen == ["delivered", "delivered", "cancelled", "cancelled"]
    assert order.paid_at is not None and order.cancelled_at is not None


@pytest.mark.redis
def test_it_announces_the_stored_event_to_the_campaign_engine_after_commit(
    api, order, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.post(URL, event_body(), format="json")
        queued_before_commit = queued_tasks()

    # then
    event = OrderEvent.objects.get()
    assert len(callbacks) == 1
    assert (ORDER_EVENT_TASK, [event.pk]) not in queued_before_commit
    assert (ORDER_EVENT_TASK, [event.pk]) in queued_tasks(take=True)


@pytest.mark.redis
def test_a_burst_of_events_sends_one_wake_up_until_the_task_starts(
    api, django_capture_on_commit_callbacks
):
    from campaigns.tasks import order_event_received

    # given five orders' events posted at once
    orders = [OrderFactory(external_id=f"B-{n}") for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for n, placed in enumerate(orders):
            body = event_body(event_id=f"burst-{n}", order_external_id=placed.external_id)
            assert api.post(URL, body, format="json").status_code == 201

    # then one task was sent: it fires every unfired event, so one is enough
    assert [name for name, _ in queued_tasks(take=True)] == [ORDER_EVENT_TASK]

    # and once the task has started, the next event sends a new one
    order_event_received(OrderEvent.objects.first().pk)
    assert not OrderEvent.objects.filter(processed_at__isnull=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        body = event_body(event_id="after", order_external_id=orders[0].external_id)
        api.post(URL, body, format="json")
    assert [name for name, _ in queued_tasks(take=True)] == [ORDER_EVENT_TASK]


def test_it_stores_the_event_when_the_broker_is_down(
    api, order, broker_down, caplog, django_capture_on_commit_callbacks
):
    # given a broker (Redis) address where nothing listens (broker_down)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, event_body(), format="json")

    # then
    assert response.status_code == 201
    assert OrderEvent.objects.filter(event_id="evt-1").exists()
    assert "not announced" in caplog.text
