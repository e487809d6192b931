"""The access export: everything held about one customer, as one JSON document."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Attribution, LinkClick, SurveyAnswer
from channels.models import InboundEvent, SandboxMessage
from subscriptions.models import ConsentEvent
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderEventFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)
from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
SECTIONS = {
    "orders", "chats", "consent_history", "deliveries", "survey_answers", "link_clicks",
    "attributions", "messages",
}  # fmt: skip


@pytest.fixture
def customer():
    """A customer with one record of every kind."""
    customer = CustomerFactory(external_id="C-77", name="Zeb", email="z@example.org", phone="+1")
    order = OrderFactory(customer=customer, external_id="A-1")
    OrderItemFactory(order=order, sku="FIT-5")
    OrderEventFactory(order=order, event_id="evt-1", data={"slot": "10-12"})
    sandbox = ChannelAccountFactory(kind="sandbox", name="sandbox")
    subscription = SubscriptionFactory(
        customer=customer, order=order, account=sandbox, platform_user_id="conv-zeb-0001"
    )
    ConsentEvent.objects.create(
        customer=customer, subscription=subscription, kind="opt_in", source="deep_link"
    )
    now = timezone.now()
    delivery = DeliveryFactory(
        campaign=CampaignFactory(name="Survey"), subscription=subscription, account=sandbox,
        order=order, state="skipped", reason="quiet_hours", clicked_at=now,
    )  # fmt: skip
    SurveyAnswer.objects.create(delivery=delivery, order=order, score=4, comment="tasty")
    LinkClick.objects.create(delivery=delivery, url="https://shop.example/menu")
    later = OrderFactory(customer=customer, external_id="A-2", placed_at=now + dt.timedelta(1))
    Attribution.objects.create(order=later, delivery=delivery, via="click")
    InboundEvent.objects.create(
        account=sandbox, kind="text", platform_user_id="conv-zeb-0001", event_id="m1",
        occurred_at=now, text="hello", raw={},
    )  # fmt: skip
    SandboxMessage.objects.create(
        account=sandbox, conversation="conv-zeb-0001", direction="out", body={"text": "hi Zeb"}
    )
    # someone else's records stay out of it
    other = SubscriptionFactory(account=sandbox, platform_user_id="conv-other-001")
    DeliveryFactory(subscription=other, account=sandbox)
    return customer


def test_it_exports_every_kind_of_record(api, customer):
    response = api.get("/api/v1/customers/C-77/export/")

    assert response.status_code == 200
    document = response.json()
    assert document["format"] == "comeback.customer-export/1"
    assert document["customer"] | {"created_at": None, "updated_at": None} == {
        "external_id": "C-77", "name": "Zeb", "email": "z@example.org", "phone": "+1",
        "locale": customer.locale, "time_zone": customer.time_zone, "erased_at": None,
        "created_at": None, "updated_at": None,
    }  # fmt: skip
    assert {name for name in SECTIONS if document[name]} == SECTIONS
    orders = {order["external_id"]: order for order in document["orders"]}
    assert "FIT-5" in {item["sku"] for item in orders["A-1"]["items"]}
    assert orders["A-1"]["events"][0]["data"] == {"slot": "10-12"}
    assert document["chats"][0]["platform_user_id"] == "conv-zeb-0001"
    assert document["chats"][0]["topics"] == ["menu", "surveys", "promotions"]
    assert [d["reason"] for d in document["deliveries"]] == ["quiet_hours"]
    assert document["deliveries"][0]["campaign"] == "Survey"
    assert document["survey_answers"][0]["comment"] == "tasty"
    assert document["link_clicks"][0]["url"] == "https://shop.example/menu"
    assert document["attributions"][0]["order"] == "A-2"
    assert document["consent_history"][0]["kind"] == "opt_in"
    assert {(m["direction"], m.get("text")) for m in document["messages"]} == {
        ("in", "hello"), ("out", None),
    }  # fmt: skip


def test_it_answers_404_for_an_unknown_customer(api):
    response = api.get("/api/v1/customers/NOPE/export/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_needs_an_api_key(client, customer):
    assert client.get("/api/v1/customers/C-77/export/").status_code == 401
