"""The order moves as services.order_apply says, however the events arrive: the statement that
stores events moves orders in SQL, and must agree with the Python rule it stands for."""

import itertools
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from subscriptions.api.services import order_apply
from subscriptions.models import Order
from tests.factories import OrderFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    event_body,
)

TYPES = ["order.created", "order.paid", "order.delivered", "order.cancelled"]
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
STATE = ("status", "paid_at", "delivered_at", "cancelled_at")


def expected(batches: list[list[tuple[str, datetime]]]) -> tuple:
    """The order's state by the Python rule: each batch applied in the order its events
    happened, as the batch endpoint documents."""
    order = Order(status=Order.Status.CREATED)
    for batch in batches:
        for kind, at in sorted(batch, key=lambda event: event[1]):
            order_apply(order, kind, at)
    return tuple(getattr(order, field) for field in STATE)


@pytest.mark.django_db
def test_every_sequence_of_three_events_in_two_batches_moves_the_order_as_the_rule_says(api):
    # given every sequence of three event types, split at every point into two batches, each
    # event at a random time (so arrival order and time order differ)
    rng = random.Random(14)
    cases = []
    for n, (kinds, split) in enumerate(
        itertools.product(itertools.product(TYPES, repeat=3), range(4))
    ):
        order = OrderFactory(items=0, external_id=f"rule-{n}")
        events = [(kind, START + timedelta(hours=rng.randrange(48))) for kind in kinds]
        cases.append((order, [events[:split], events[split:]]))

    # when each half goes in one batch, all orders together
    for half in (0, 1):
        body = [
            event_body(event_id=f"{order.external_id}-{half}-{i}", type=kind,
                       order_external_id=order.external_id, occurred_at=at.isoformat(), data={})
            for order, batches in cases
            for i, (kind, at) in enumerate(batches[half])
        ]  # fmt: skip
        for start in range(0, len(body), 1000):
            response = api.post("/api/v1/events/batch/", {"events": body[start : start + 1000]},
                                format="json")  # fmt: skip
            assert response.json()["failed"] == 0

    # then every order is where the rule puts it
    stored = {o.external_id: tuple(getattr(o, f) for f in STATE) for o in Order.objects.all()}
    wrong = [(o.external_id, batches) for o, batches in cases
             if stored[o.external_id] != expected(batches)]  # fmt: skip
    assert wrong == []
    assert len(cases) == 256


@pytest.mark.django_db(transaction=True)
def test_an_event_waits_for_a_move_of_its_order_in_flight_and_builds_on_it(api_key):
    # given an order being paid in a transaction that has not committed yet
    order = OrderFactory(items=0)
    paid = START + timedelta(hours=1)
    answers: list[int] = []

    def deliver() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
        body = event_body(order_external_id=order.external_id, type="order.delivered",
                          occurred_at=(START + timedelta(days=1)).isoformat(), data={})  # fmt: skip
        try:
            answers.append(client.post("/api/v1/events/", body, format="json").status_code)
        finally:
            connection.close()

    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        # when a delivery is posted meanwhile, and waits for the order's lock
        poster = threading.Thread(target=deliver)
        poster.start()
        _wait_for_a_lock_wait(order)
        Order.objects.filter(pk=order.pk).update(status="paid", paid_at=paid)
    poster.join()

    # then the delivery moved the order on from paid, keeping the payment's stamp
    order.refresh_from_db()
    assert answers == [201]
    assert (order.status, order.paid_at) == ("delivered", paid)
    assert order.delivered_at == START + timedelta(days=1)


def _wait_for_a_lock_wait(order: Order) -> None:
    """Until another session waits for a lock (the poster's statement, behind ours)."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as watcher:
        for _ in range(500):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the event's statement never waited for the order's lock")
