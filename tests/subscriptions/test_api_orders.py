import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import Customer, Order, OrderItem
from subscriptions.tokens import order_token_read
from tests.factories import ChannelAccountFactory, OrderFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    order_body,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def test_it_creates_customer_and_order_with_subscribe_links(api, settings):
    # given three enabled accounts (one the built-in sandbox) and one disabled
    ChannelAccountFactory(kind="sandbox", name="sandbox")
    ChannelAccountFactory(kind="telegram", name="shop-telegram")
    ChannelAccountFactory(kind="viber", name="shop-viber")
    ChannelAccountFactory(kind="vk", name="shop-vk", enabled=False)

    # when
    response = api.post(URL, order_body(), format="json")

    # then
    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(external_id="A-1001")
    assert order.customer.external_id == "C-77"
    assert order.customer.locale == "ru" and order.customer.time_zone == "Europe/Moscow"
    assert order.placed_at.isoformat() == "2026-11-20T07:00:00+00:00"
    assert [(i.sku, i.quantity, i.price) for i in order.items.all()] == [
        ("FIT-5", 1, Decimal("4990.00"))
    ]
    assert list(body["subscribe_links"]) == ["sandbox", "shop-telegram", "shop-viber"]
    token = body["subscribe_token"]
    assert order_token_read(token) == order.pk
    assert (
        body["subscribe_links"]["shop-telegram"] == f"https://t.me/comeback_test_bot?start={token}"
    )
    assert body["subscribe_page"] == f"{settings.PUBLIC_BASE_URL}/s/{token}/"
    assert body["customer"]["external_id"] == "C-77"
    assert body["items"] == [
        {"sku": "FIT-5", "name": "Fit 5 days", "quantity": 1, "price": "4990.00"}
    ]
    assert body["status"] == "created" and body["paid_at"] is None


def test_an_unchanged_repost_writes_nothing(api):
    # given an order the shop posted; shops repost unchanged orders (retries, nightly syncs)
    first = api.post(URL, order_body(), format="json")
    assert first.status_code == 201

    # when it is posted again as it was
    with CaptureQueriesContext(connection) as captured:
        again = api.post(URL, order_body(), format="json")

    # then the answer is the same, and no customer, order or item row was written
    assert again.status_code == 200
    # issued anew each time (signed with the time of the answer)
    fresh = {"subscribe_token", "subscribe_links", "subscribe_page", "subscribe_email_link"}
    assert {k: v for k, v in again.json().items() if k not in fresh} == {
        k: v for k, v in first.json().items() if k not in fresh
    }
    writes = [
        q["sql"] for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and "subscriptions_" in q["sql"] and "apikey" not in q["sql"]
    ]  # fmt: skip
    assert writes == []


def test_a_repost_that_changes_one_field_writes_that_field(api):
    api.post(URL, order_body(), format="json")
    before = Customer.objects.get(external_id="C-77").updated_at
    body = order_body()
    body["customer"]["name"] = "Renamed"

    assert api.post(URL, body, format="json").status_code == 200

    customer = Customer.objects.get(external_id="C-77")
    assert (customer.name, customer.updated_at > before) == ("Renamed", True)
    assert OrderItem.objects.count() == 1


def test_it_is_idempotent_replacing_items_and_answering_200(api):
    # given
    first = api.post(URL, order_body(), format="json")
    items = [
        {"sku": "FIT-5", "name": "Fit 5 days", "quantity": 2, "price": "4990.00"},
        {"sku": "SOUP", "name": "Soup", "quantity": 1, "price": "0"},
    ]

    # when the same order is posted again, then again with new items
    again = api.post(URL, order_body(), format="json")
    changed = api.post(URL, order_body(items=items, total="9980.00"), format="json")

    # then
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert Order.objects.count() == 1 and Customer.objects.count() == 1
    assert sorted(OrderItem.objects.values_list("sku", "quantity")) == [("FIT-5", 2), ("SOUP", 1)]
    assert changed.json()["total"] == "9980.00"
    assert first.json()["subscribe_token"] != ""


def test_it_keeps_items_when_a_later_upsert_omits_them(api):
    api.post(URL, order_body(), format="json")
    body = order_body(status="paid")
    del body["items"]

    response = api.post(URL, body, format="json")

    assert response.status_code == 200
    assert [item["sku"] for item in response.json()["items"]] == ["FIT-5"]


@pytest.mark.parametrize(
    ("status", "stamp"),
    [("paid", "paid_at"), ("delivered", "delivered_at"), ("cancelled", "cancelled_at")],
)
def test_it_stamps_the_time_the_status_names(api, status, stamp):
    response = api.post(URL, order_body(status=status), format="json")

    assert response.status_code == 201
    order = Order.objects.get()
    assert order.status == status and getattr(order, stamp) is not None
    assert response.json()[stamp] is not None


@pytest.mark.parametrize(
    ("first", "repost", "kept"),
    [("cancelled", "created", "cancelled"), ("delivered", "paid", "delivered"),
     ("paid", "delivered", "delivered"), ("paid", "cancelled", "cancelled")],
)  # fmt: skip
def test_a_repost_never_moves_the_status_back(api, first, repost, kept):
    # given an order the shop reported as `first`, then posted again (a retry, an old copy)
    api.post(URL, order_body(status=first), format="json")

    response = api.post(URL, order_body(status=repost), format="json")

    # then its status moved forward only, and cancelled stayed final
    assert response.status_code == 200
    assert response.json()["status"] == kept
    assert Order.objects.get().status == kept


def test_it_takes_a_given_stamp_over_now(api):
    response = api.post(
        URL, order_body(status="paid", paid_at="2026-11-20T10:05:00+03:00"), format="json"
    )

    assert response.json()["paid_at"] == "2026-11-20T07:05:00Z"


def test_it_refuses_to_move_an_order_to_another_customer(api):
    # given
    api.post(URL, order_body(), format="json")
    other = order_body()
    other["customer"] = {"external_id": "C-99"}

    # when
    response = api.post(URL, other, format="json")

    # then
    assert response.status_code == 400
    assert "external_id" in response.json()["customer"]
    assert Order.objects.get().customer.external_id == "C-77"
    assert not Customer.objects.filter(external_id="C-99").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "RUBL"}, "currency"),
        ({"currency": "R1B"}, "currency"),
        ({"status": "shipped"}, "status"),
        ({"total": "-1.00"}, "total"),
        ({"total": "1e400"}, "total"),
        ({"items": [{"sku": "X", "name": "X", "quantity": 0, "price": "1"}]}, "items"),
        ({"items": [{"sku": "X", "name": "X", "quantity": 1, "price": "-0.01"}]}, "items"),
        ({"items": [{"sku": "X", "name": "X", "quantity": 10**12, "price": "1"}]}, "items"),
        ({"items": "FIT-5"}, "items"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 101}, "external_id"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "9999-12-31T23:00:00+00:00"}, "created_at"),  # not placed yet
        ({"delivered_at": "9999-12-31T23:00:00+00:00"}, "delivered_at"),
        ({"customer": "C-77"}, "customer"),
    ],
)
def test_it_answers_400_naming_the_field(api, change, field):
    response = api.post(URL, order_body(**change), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("customer_change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": "Europe/" + "x" * 60}, "time_zone"),
        ({"locale": "russian"}, "locale"),
        ({"email": "not-an-email"}, "email"),
        ({"name": "Iv\u0000an"}, "name"),
        ({"name": "Iv\ud800an"}, "name"),
        ({"email": "ivan@\ud800\ud800.com"}, "email"),
    ],
)
def test_it_answers_400_naming_the_customer_field(api, customer_change, field):
    body = order_body()
    body["customer"] |= customer_change

    # json.dumps escapes lone surrogates (\ud800) as a client's JSON would carry them
    response = api.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["customer"]


def test_it_keeps_an_unsupported_language_for_english_rendering(api):
    body = order_body()
    body["customer"]["locale"] = "pt_BR"

    response = api.post(URL, body, format="json")

    assert response.status_code == 201
    assert Customer.objects.get().locale == "pt-br"


def test_it_answers_fresh_subscribe_links_for_a_known_order(api, settings):
    ChannelAccountFactory(kind="sandbox", name="sandbox")
    order = OrderFactory(external_id="A-7")

    response = api.get("/api/v1/orders/A-7/subscribe-links/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "subscribe_links",
        "subscribe_counted_links",
        "subscribe_page",
        "subscribe_email_link",
        "subscribe_token",
    }
    assert order_token_read(body["subscribe_token"]) == order.pk
    assert body["subscribe_links"]["sandbox"].endswith(f"start={body['subscribe_token']}")
    assert body["subscribe_page"].startswith(settings.PUBLIC_BASE_URL + "/s/")


def test_it_answers_404_for_links_of_an_unknown_order(api):
    response = api.get("/api/v1/orders/NOPE/subscribe-links/")

    assert response.status_code == 404
    assert "detail" in response.json()
