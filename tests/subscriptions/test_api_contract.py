"""The API's words mean one thing: ids with "/", field names, time zones, times, unknown paths."""

import pytest
import requests

from subscriptions.models import ApiKey, ConsentEvent, Customer, Order
from subscriptions.services import subscription_stop
from tests.factories import ChannelAccountFactory, CustomerFactory, SubscriptionFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    event_body,
    order_body,
)

ORDERS, EVENTS = "/api/v1/orders/", "/api/v1/events/"


def slashed_order(api) -> Order:
    body = order_body(external_id="2026/A/1")
    body["customer"]["external_id"] = "C/77"
    assert api.post(ORDERS, body, format="json").status_code == 201
    return Order.objects.get(external_id="2026/A/1")


# --- external ids with "/" ------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("written", ["2026%2FA%2F1", "2026/A/1"], ids=["encoded", "plain"])
def test_it_reaches_an_order_whose_external_id_has_slashes(api, written):
    order = slashed_order(api)

    response = api.get(f"/api/v1/orders/{written}/subscribe-links/")

    assert response.status_code == 200
    assert response.json()["subscribe_token"]
    assert Order.objects.get().pk == order.pk


@pytest.mark.django_db
@pytest.mark.parametrize("operation", ["subscriptions", "consents", "unsubscribe"])
def test_it_reaches_a_customer_whose_external_id_has_a_slash(api, operation):
    # given the customer C/77, subscribed on one channel
    order = slashed_order(api)
    subscription = SubscriptionFactory(customer=order.customer, order=order)

    # when the shop asks about them by the id it knows, percent-encoded
    url = f"/api/v1/customers/C%2F77/{operation}/"
    response = api.post(url) if operation == "unsubscribe" else api.get(url)

    # then it is answered about exactly that customer
    assert response.status_code == 200
    if operation == "subscriptions":
        assert [row["channel"] for row in response.json()] == [subscription.account.name]
    if operation == "unsubscribe":
        assert response.json() == {"unsubscribed": 1}
        assert ConsentEvent.objects.get().customer == order.customer
    if operation == "consents":
        assert response.json() == []


@pytest.mark.django_db
def test_it_takes_an_id_ending_in_a_routes_own_word_as_the_id(api):
    # the id is everything before the route's last word, even when it contains that word
    customer = CustomerFactory(external_id="shop/subscriptions")
    subscription = SubscriptionFactory(customer=customer)
    subscription_stop(subscription=subscription, source="api", evidence="api")

    listed = api.get("/api/v1/customers/shop%2Fsubscriptions/subscriptions/")
    consents = api.get("/api/v1/customers/shop/subscriptions/consents/")

    assert [row["status"] for row in listed.json()] == ["unsubscribed"]
    assert [row["kind"] for row in consents.json()] == ["opt_out"]
    assert api.get("/api/v1/customers/shop/subscriptions/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_it_reaches_a_slashed_id_over_real_http(live_server):
    # A real server decodes %2F before routing, as every WSGI server does.
    ChannelAccountFactory(kind="telegram")
    _, key = ApiKey.issue("shop")
    headers = {"Authorization": f"Api-Key {key}"}
    body = order_body(external_id="A/1")
    created = requests.post(f"{live_server.url}{ORDERS}", json=body, headers=headers, timeout=10)

    links = requests.get(
        f"{live_server.url}/api/v1/orders/A%2F1/subscribe-links/", headers=headers, timeout=10
    )

    assert created.status_code == 201, created.text
    assert links.status_code == 200, links.text
    assert "shop-telegram" in links.json()["subscribe_links"]


# --- created_at ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_it_answers_created_at_by_the_name_it_was_given(api):
    response = api.post(ORDERS, order_body(created_at="2026-11-20T10:00:00+03:00"), format="json")

    body = response.json()
    assert body["created_at"] == "2026-11-20T07:00:00Z"
    assert "placed_at" not in body
    assert Order.objects.get().placed_at.isoformat() == "2026-11-20T07:00:00+00:00"


# --- time zones ----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "zone",
    ["localtime", "posixrules", "Factory", "Europe/Kiev/", "europe/moscow", "zone.tab", "GMT+3"],
)
def test_it_answers_400_for_a_time_zone_that_is_not_an_iana_name(api, zone):
    body = order_body()
    body["customer"]["time_zone"] = zone

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 400
    assert "time_zone" in response.json()["customer"]
    assert not Customer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/Kyiv", "Europe/Kiev", "UTC", "America/Argentina/Salta"])
def test_it_keeps_a_real_iana_time_zone(api, zone):
    body = order_body()
    body["customer"]["time_zone"] = zone

    assert api.post(ORDERS, body, format="json").status_code == 201
    assert Customer.objects.get().time_zone == zone


# --- times ---------------------------------------------------------------------------------------
AMBIGUOUS = ["2026-11-20", "20261120", "2026-W47-5", "2026-11-20T10:00:00", "2026-11-20 10:00"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", AMBIGUOUS)
@pytest.mark.parametrize("field", ["created_at", "paid_at", "delivered_at", "cancelled_at"])
def test_it_answers_400_for_an_order_time_without_a_time_or_offset(api, field, value):
    response = api.post(ORDERS, order_body(**{field: value}), format="json")

    assert response.status_code == 400
    [message] = response.json()[field]
    assert "UTC offset" in message
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", AMBIGUOUS)
def test_it_answers_400_for_an_event_time_without_a_time_or_offset(api, value):
    api.post(ORDERS, order_body(), format="json")

    response = api.post(EVENTS, event_body(occurred_at=value), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["occurred_at"]


@pytest.mark.django_db
def test_it_answers_400_for_a_bare_date_as_since(api):
    response = api.get("/api/v1/consents.csv", {"since": "2026-11-20"})

    assert response.status_code == 400
    assert "since" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2026-11-21T12:00:00+03:00", "2026-11-21T09:00:00Z"),
        ("2026-11-21T09:00Z", "2026-11-21T09:00:00Z"),
        ("2026-11-21 09:00:00.250+0000", "2026-11-21T09:00:00.250000Z"),
    ],
)
def test_it_takes_a_time_with_its_offset(api, value, stored):
    api.post(ORDERS, order_body(), format="json")

    response = api.post(EVENTS, event_body(occurred_at=value), format="json")

    assert response.status_code == 201
    assert response.json()["occurred_at"] == stored


# --- unknown paths -------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nope/"),
        ("get", "/api/nope"),
        ("post", "/api/v2/orders/"),
        ("get", "/api/v1/orders/A-1/"),
        ("delete", "/api/v1/customers/C-1/"),
    ],
)
def test_it_answers_an_unknown_api_path_with_a_json_404(api, method, path):
    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_it_keeps_the_html_404_for_pages(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
