import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import ConsentEvent, Subscription
from tests.factories import ChannelAccountFactory, CustomerFactory, SubscriptionFactory
from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def ivan():
    return CustomerFactory(external_id="C-77")


@pytest.fixture
def two_subscriptions(ivan):
    telegram = ChannelAccountFactory(kind="telegram", name="shop-telegram")
    viber = ChannelAccountFactory(kind="viber", name="shop-viber")
    now = timezone.now()
    first = SubscriptionFactory(
        customer=ivan, account=telegram, platform_user_id="111", subscribed_at=now, wants_menu=False
    )
    second = SubscriptionFactory(
        customer=ivan,
        account=viber,
        platform_user_id="v-222",
        subscribed_at=now + timedelta(seconds=1),
        status=Subscription.Status.BLOCKED,
    )
    return first, second


def test_it_lists_the_customers_subscriptions(api, two_subscriptions):
    response = api.get("/api/v1/customers/C-77/subscriptions/")

    assert response.status_code == 200
    rows = response.json()
    assert [(r["channel"], r["kind"], r["status"]) for r in rows] == [
        ("shop-telegram", "telegram", "active"),
        ("shop-viber", "viber", "blocked"),
    ]
    assert rows[0]["topics"] == ["surveys", "promotions"]
    assert rows[0]["unsubscribed_at"] is None and rows[0]["subscribed_at"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/customers/NOPE/subscriptions/"),
        ("post", "/api/v1/customers/NOPE/unsubscribe/"),
        ("get", "/api/v1/customers/NOPE/consents/"),
        ("get", "/api/v1/consents.csv?customer=NOPE"),
    ],
)
def test_it_answers_404_for_an_unknown_customer(api, method, path):
    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_unsubscribes_every_active_subscription_with_a_consent_record(api, two_subscriptions):
    # when
    response = api.post("/api/v1/customers/C-77/unsubscribe/")
    again = api.post("/api/v1/customers/C-77/unsubscribe/")

    # then
    assert response.status_code == 200 and response.json() == {"unsubscribed": 1}
    assert again.json() == {"unsubscribed": 0}
    first, _ = two_subscriptions
    first.refresh_from_db()
    assert first.status == "unsubscribed" and first.unsubscribed_at is not None
    consent = ConsentEvent.objects.get(subscription=first)
    assert (consent.kind, consent.source) == ("opt_out", "api")


def test_it_answers_the_consent_log_oldest_first(api, two_subscriptions, ivan):
    # given
    first, _ = two_subscriptions
    now = timezone.now()
    ConsentEvent.objects.create(
        customer=ivan, subscription=first, kind="opt_out", source="keyword", occurred_at=now
    )
    ConsentEvent.objects.create(
        customer=ivan,
        subscription=first,
        kind="opt_in",
        source="deep_link",
        evidence="AQAAAAAAAAABaSAF",
        topics=["menu"],
        occurred_at=now - timedelta(days=1),
    )
    ConsentEvent.objects.create(customer=CustomerFactory(), kind="opt_in", source="api")

    # when
    response = api.get("/api/v1/customers/C-77/consents/")

    # then
    assert response.status_code == 200
    rows = response.json()
    assert [(r["kind"], r["source"]) for r in rows] == [
        ("opt_in", "deep_link"),
        ("opt_out", "keyword"),
    ]
    assert rows[0]["channel"] == "shop-telegram" and rows[0]["platform_user_id"] == "111"
    assert rows[0]["topics"] == ["menu"] and rows[0]["evidence"] == "AQAAAAAAAAABaSAF"


def test_it_exports_consents_as_csv_filtered_by_customer_and_since(api, two_subscriptions, ivan):
    # given
    first, _ = two_subscriptions
    now = timezone.now()
    ConsentEvent.objects.create(
        customer=ivan, subscription=first, kind="opt_in", source="deep_link",
        topics=["menu", "surveys"], occurred_at=now - timedelta(days=10),
    )  # fmt: skip
    ConsentEvent.objects.create(
        customer=ivan, subscription=first, kind="opt_out", source="keyword", evidence="STOP",
        occurred_at=now,
    )  # fmt: skip
    ConsentEvent.objects.create(customer=CustomerFactory(), kind="opt_in", source="api")
    since = (now - timedelta(days=1)).isoformat()

    # when
    response = api.get("/api/v1/consents.csv", {"customer": "C-77", "since": since})

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["occurred_at", "customer_external_id", "channel"]
    assert rows[1:] == [
        [now.isoformat(), "C-77", "shop-telegram", "111", "opt_out", "keyword", "STOP", ""]
    ]


def test_it_exports_everything_without_filters(api, ivan):
    ConsentEvent.objects.create(customer=ivan, kind="opt_in", source="api")
    ConsentEvent.objects.create(customer=CustomerFactory(), kind="opt_in", source="api")

    response = api.get("/api/v1/consents.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 3


def test_it_answers_400_for_a_bad_since(api, ivan):
    response = api.get("/api/v1/consents.csv", {"since": "last tuesday"}, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert "since" in response.json()
