"""`POST /api/v1/events/batch/`: each event answered as a single post would answer it."""

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
URL = "/api/v1/events/batch/"
SINGLE = "/api/v1/events/"


def post(api, *events):
    return api.post(URL, {"events": list(events)}, format="json")


def test_it_stores_each_event_once_and_answers_each_as_a_single_post_would(api, order):
    # given an event posted before on its own, and another order
    other = OrderFactory(external_id="B-2")
    single = api.post(SINGLE, event_body(event_id="old"), format="json")

    # when a batch repeats it, reuses its id with another body, adds two new ones, an invalid
    # one and one for an unknown order
    response = post(
        api,
        event_body(event_id="old"),
        event_body(event_id="old", type="order.paid"),
        event_body(event_id="new-1", type="order.paid", order_external_id="B-2"),
        event_body(event_id="new-2", type="order.delivered", order_external_id="B-2"),
        event_body(event_id="bad", occurred_at="not a time"),
        event_body(event_id="lost", order_external_id="NOPE"),
    )

    # then every answer is what a single post says, in the request's order
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 409, 201, 201, 400, 400]
    assert [r["created"] for r in body["results"]] == [False, False, True, True, False, False]
    assert (body["created"], body["repeated"], body["failed"]) == (2, 1, 3)
    assert body["results"][0]["event"] == single.json()
    assert "occurred_at" in body["results"][4]["errors"]
    assert "order_external_id" in body["results"][5]["errors"]
    new = body["results"][2]["event"]
    assert (new["event_id"], new["order_external_id"], new["type"]) == (
        "new-1", "B-2", "order.paid",
    )  # fmt: skip
    # and only the new ones were stored, the reused id keeping its first body
    assert sorted(OrderEvent.objects.values_list("event_id", flat=True)) == [
        "new-1", "new-2", "old",
    ]  # fmt: skip
    assert OrderEvent.objects.get(event_id="old").type == "order.delivered"
    # and the other order moved on as both its events say
    other.refresh_from_db()
    assert other.status == "delivered"
    assert other.paid_at is not None and other.delivered_at is not None


def test_a_second_post_of_the_same_batch_changes_nothing_and_answers_the_same(api, order):
    events = [event_body(event_id=f"e{n}") for n in range(3)]
    first = post(api, *events).json()
    Order.objects.filter(pk=order.pk).update(status="cancelled")

    again = post(api, *events).json()

    assert [r["event"] for r in again["results"]] == [r["event"] for r in first["results"]]
    assert (again["created"], again["repeated"]) == (0, 3)
    assert OrderEvent.objects.count() == 3
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_a_batch_applies_one_orders_events_in_the_order_they_happened(api, order):
    # given a cancellation reported before the delivery it followed, in one batch
    response = post(
        api,
        event_body(event_id="c", type="order.cancelled", occurred_at="2026-11-22T10:00:00Z"),
        event_body(event_id="d", type="order.delivered", occurred_at="2026-11-21T10:00:00Z"),
    )

    assert [r["status"] for r in response.json()["results"]] == [201, 201]
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.delivered_at.isoformat() == "2026-11-21T10:00:00+00:00"
    assert order.cancelled_at.isoformat() == "2026-11-22T10:00:00+00:00"


def test_the_same_event_twice_in_one_batch_is_stored_once(api, order):
    response = post(api, event_body(), event_body(), event_body(data={"other": 1}))

    assert [r["status"] for r in response.json()["results"]] == [201, 201, 409]
    assert [r["created"] for r in response.json()["results"]] == [True, False, False]
    assert OrderEvent.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": []},
        {"events": "evt-1"},
        {"events": [event_body(event_id=f"e{n}") for n in range(1001)]},
    ],
    ids=["no events", "empty", "not a list", "over 1000"],
)
def test_a_malformed_batch_is_a_400_naming_events_and_stores_nothing(api, order, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert "events" in response.json()
    assert not OrderEvent.objects.exists()


def test_an_item_that_is_not_an_object_fails_alone(api, order):
    response = post(api, "evt-1", None, event_body())

    results = response.json()["results"]
    assert [r["status"] for r in results] == [400, 400, 201]
    assert [list(r["errors"]) for r in results[:2]] == [["non_field_errors"]] * 2
    assert OrderEvent.objects.count() == 1


@pytest.mark.redis
def test_a_batch_wakes_the_campaign_engine_once_after_commit(
    api, django_capture_on_commit_callbacks
):
    orders = [OrderFactory(external_id=f"W-{n}") for n in range(3)]
    events = [
        event_body(event_id=f"w{n}", order_external_id=placed.external_id)
        for n, placed in enumerate(orders)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        post(api, *events)

    newest = OrderEvent.objects.order_by("-pk").first()
    # (a task another test of this process left in the queue is not this batch's)
    woken = [task for task in queued_tasks(take=True) if task[0] == ORDER_EVENT_TASK]
    assert woken == [(ORDER_EVENT_TASK, [newest.pk])]
