"""Webhooks out to the shop: signed POSTs with an idempotency key, retried with backoff for a day,
delivered by a real worker to a real receiver on loopback."""

import datetime as dt
import itertools
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from shopwebhooks import signing
from shopwebhooks.delivery import deliver_due, retry_delay
from shopwebhooks.emit import emit
from shopwebhooks.models import Endpoint, ShopEvent, WebhookDelivery
from shopwebhooks.tasks import deliver
from subscriptions.services import subscription_stop
from tests.factories import SubscriptionFactory
from tests.shopwebhooks.receiver import receiver
from tests.timetravel import TimeMachine, travel
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.django_db


def test_the_backoff_doubles_from_15_seconds_to_4_hours_with_jitter():
    for attempt, base in [(1, 15), (2, 30), (3, 60), (5, 240), (11, 4 * 3600), (30, 4 * 3600)]:
        delay = retry_delay(attempt).total_seconds()
        assert 0.8 * base <= delay <= 1.2 * base


def test_an_endpoint_gets_only_the_events_it_asked_for():
    everything = Endpoint.objects.create(name="all", url="http://127.0.0.1:9/a")
    picky = Endpoint.objects.create(
        name="reorders", url="http://127.0.0.1:9/b", events=["reorder.requested"]
    )
    Endpoint.objects.create(name="off", url="http://127.0.0.1:9/c", enabled=False)

    emit("survey.answered", {"score": 5})
    emit("reorder.requested", {"reorder_id": 1})

    rows = WebhookDelivery.objects.values_list("endpoint__name", "event__type")
    assert sorted(rows) == [
        ("all", "reorder.requested"),
        ("all", "survey.answered"),
        ("reorders", "reorder.requested"),
    ]
    assert everything.wants("anything") and not picky.wants("survey.answered")


def test_a_failing_endpoint_is_retried_for_24_hours_then_given_up(settings):
    settings.SHOP_WEBHOOK_TIMEOUT_SECONDS = 1
    with receiver([], then=500) as shop:
        Endpoint.objects.create(name="shop", url=shop.url)
        start = timezone.now()
        with travel(start):
            event = emit("survey.answered", {"score": 2})
        row = WebhookDelivery.objects.get()
        moments = []
        while row.state == "pending":
            with travel(row.next_attempt_at):
                moments.append(timezone.now())
                assert deliver_due() == 1
            row.refresh_from_db()

    assert row.state == "gave_up"
    assert row.last_status == 500 and row.last_error == "HTTP 500"
    assert moments[-1] - event.occurred_at >= dt.timedelta(hours=24)  # at least a day of tries
    assert moments[-2] - event.occurred_at < dt.timedelta(hours=24)
    assert row.attempts == len(moments) == len(shop.received)
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert gaps[0] < dt.timedelta(seconds=20) and max(gaps) <= dt.timedelta(hours=4.8)
    assert {r.headers["idempotency-key"] for r in shop.received} == {str(event.id)}


def readme_block(language: str, containing: str) -> str:
    """The README's fenced `language` code block that contains `containing`."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    blocks = re.findall(rf"```{language}\n(.*?)```", readme, flags=re.S)
    [block] = [b for b in blocks if containing in b]
    return block


def test_the_signature_verifies_with_the_documented_recipes(settings):
    with receiver([]) as shop:
        endpoint = Endpoint.objects.create(name="shop", url=shop.url)
        event = emit("link.clicked", {"url": "https://shop.example/menu?ы=1"})
        assert deliver_due() == 1
    [request] = shop.received
    header = request.headers["comeback-signature"]
    assert request.headers["idempotency-key"] == str(event.id)
    assert request.headers["comeback-event"] == "link.clicked"
    assert json.loads(request.body)["id"] == str(event.id)

    # README's Python recipe, as printed there.
    recipe: dict = {}
    exec(readme_block("python", "def verified"), recipe)  # noqa: S102 - our own README
    assert recipe["verified"](header, request.body, endpoint.secret)
    assert not recipe["verified"](header, request.body, "another-secret-another-secret")
    parts = dict(p.split("=", 1) for p in header.split(",") if p.startswith("t="))
    given = [p.removeprefix("v1=") for p in header.split(",") if p.startswith("v1=")]
    assert signing.verify(header=header, body=request.body, secret=endpoint.secret, now=time.time())
    assert not signing.verify(
        header=header, body=request.body + b" ", secret=endpoint.secret, now=time.time()
    )

    # README's shell recipe: openssl over "<t>.<body>".
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    shell = readme_block("sh", "openssl dgst")
    out = subprocess.run(
        ["sh", "-c", shell],
        env={"T": parts["t"], "BODY": request.body.decode(), "SECRET": endpoint.secret,
             "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() in given


def test_while_rotating_both_secrets_sign():
    with receiver([]) as shop:
        endpoint = Endpoint.objects.create(
            name="shop",
            url=shop.url,
            secret="new-secret-new-secret-1234",
            previous_secret="old-secret-old-secret-1234",
            previous_secret_until=timezone.now() + dt.timedelta(hours=1),
        )
        emit("survey.answered", {"score": 4})
        deliver_due()
    [request] = shop.received
    header = request.headers["comeback-signature"]
    assert header.count("v1=") == 2
    for secret in (endpoint.secret, endpoint.previous_secret):
        assert signing.verify(header=header, body=request.body, secret=secret, now=time.time())


def recorded(attempts: int, before: dt.datetime | None) -> WebhookDelivery | None:
    """The row once its `attempts`-th attempt's outcome is stored (a new last_attempt_at)."""
    row = WebhookDelivery.objects.get()
    fresh = row.last_attempt_at is not None and row.last_attempt_at != before
    return row if row.attempts == attempts and fresh else None


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_shop_acts_once_across_500s_a_timeout_and_an_accept(tmp_path):
    """A real worker delivers; the test moves the worker's clock past each backoff."""
    machine = TimeMachine(tmp_path / "clock")
    subscription = SubscriptionFactory()
    with (
        receiver([500, 500, 500, "sleep"], sleep=3) as shop,
        celery_worker(SHOP_WEBHOOK_TIMEOUT_SECONDS="1", **machine.env()),
    ):
        Endpoint.objects.create(name="shop", url=shop.url, events=["subscription.ended"])
        # The customer unsubscribes: the shop is told, on commit, by the worker.
        subscription_stop(subscription=subscription, source="keyword", evidence="STOP")
        row = None
        for attempts in range(1, 6):
            before = row.last_attempt_at if row else None
            row = wait_for(lambda n=attempts, b=before: recorded(n, b), timeout=20)
            if row.state == "delivered":
                break
            machine.travel(row.next_attempt_at + dt.timedelta(seconds=1))
            deliver.delay()
        # Later sweeps send nothing more.
        machine.travel(timezone.now() + dt.timedelta(days=2))
        deliver.delay()
        time.sleep(1)

    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts, row.last_status) == ("delivered", 5, 200)
    answers = [r.answered for r in shop.received]
    assert answers == [500, 500, 500, "sleep", 200]
    event = ShopEvent.objects.get(type="subscription.ended")
    assert {r.headers["idempotency-key"] for r in shop.received} == {str(event.id)}
    assert shop.accepted_keys() == [str(event.id)]  # acted on exactly once
    data = json.loads(shop.received[-1].body)["data"]
    assert data["customer_external_id"] == subscription.customer.external_id
    assert data["subscription_id"] == subscription.pk and data["source"] == "keyword"
