# ruff: noqa: RUF001 - Ukrainian text uses Cyrillic letters that look Latin
"""Ordering again from the chat (campaigns/reorders.py): a press in the sandbox, the signed
event at the shop's receiver, the shop's confirmation through the API, the customer told."""

import json
import time

import pytest

from campaigns.models import Reorder
from channels.models import SandboxMessage
from shopwebhooks import signing
from shopwebhooks.delivery import deliver_due
from shopwebhooks.models import Endpoint, ShopEvent
from subscriptions.models import ApiKey
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)
from tests.shopwebhooks.receiver import receiver
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.django_db
CONVERSATION = "conv-reorder-0001"


@pytest.fixture
def menu_delivery():
    """A weekly menu sent to a Ukrainian customer in the sandbox, after one order of two sets."""
    customer = CustomerFactory(locale="uk", external_id="C-olena")
    order = OrderFactory(customer=customer, items=0, external_id="A-500", currency="UAH")
    OrderItemFactory(order=order, sku="fit-5", name="Fit 5 days", quantity=1, price="1490.00")
    OrderItemFactory(order=order, sku="soup", name="Borscht", quantity=2, price="120.00")
    chat = SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="sandbox", name="sandbox"),
        platform_user_id=CONVERSATION,
        order=order,
    )
    campaign = CampaignFactory(
        kind="recurring", topic="menu", content={"default": {"text": "Menu"}}
    )
    return DeliveryFactory(
        campaign=campaign, subscription=chat, state="sent", occurrence="2026-W50"
    )


def press(client, delivery, kind="next_week", conversation=CONVERSATION, event_id="b-1"):
    event = {"type": "button", "id": event_id, "payload": f"reorder:{delivery.pk}:{kind}"}
    return client.post(
        f"/sandbox/api/{conversation}/events", json.dumps(event), content_type="application/json"
    )


def bot_lines(conversation=CONVERSATION) -> list[str]:
    rows = SandboxMessage.objects.filter(conversation=conversation, direction="out")
    return [row.body.get("text", "") for row in rows.order_by("pk")]


@pytest.fixture
def shop_key():
    return ApiKey.issue("shop")[1]


def decide(client, key, reorder, action, **body):
    return client.post(
        f"/api/v1/reorders/{reorder.public_id}/{action}/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {key}"},
    )


def test_a_press_asks_the_shop_with_a_signed_event_and_answers_in_the_customers_language(
    client, menu_delivery
):
    with receiver([]) as shop:
        endpoint = Endpoint.objects.create(name="shop", url=shop.url, events=["reorder.requested"])
        assert press(client, menu_delivery).status_code in (200, 202)
        assert deliver_due() == 1

    reorder = Reorder.objects.get()
    assert (reorder.kind, reorder.state, reorder.last_order.external_id) == (
        "next_week", "requested", "A-500",
    )  # fmt: skip
    [request] = shop.received
    header = request.headers["comeback-signature"]
    assert signing.verify(header=header, body=request.body, secret=endpoint.secret, now=time.time())
    event = json.loads(request.body)
    assert event["type"] == "reorder.requested"
    assert event["data"]["reorder_id"] == str(reorder.public_id)
    assert event["data"]["customer_external_id"] == "C-olena"
    assert event["data"]["last_order_external_id"] == "A-500"
    assert event["data"]["items"] == [
        {"sku": "fit-5", "name": "Fit 5 days", "quantity": 1, "price": "1490.00"},
        {"sku": "soup", "name": "Borscht", "quantity": 2, "price": "120.00"},
    ]
    assert "Ми передали магазину" in bot_lines()[-1]  # Ukrainian, as the customer's locale


def test_pressing_again_while_one_is_open_asks_nothing_new(client, menu_delivery):
    press(client, menu_delivery, event_id="b-1")
    press(client, menu_delivery, kind="repeat", event_id="b-2")

    assert Reorder.objects.count() == 1
    assert ShopEvent.objects.filter(type="reorder.requested").count() == 1
    assert "вже в магазині" in bot_lines()[-1]


def test_someone_elses_delivery_orders_nothing(client, menu_delivery):
    press(client, menu_delivery, conversation="conv-intruder-01")

    assert not Reorder.objects.exists()
    assert bot_lines("conv-intruder-01") == []


def test_a_customer_without_an_order_is_told_so(client, menu_delivery):
    menu_delivery.subscription.customer.orders.all().delete()
    menu_delivery.subscription.order = None

    press(client, menu_delivery, kind="repeat")

    assert not Reorder.objects.exists()
    assert "Не знайшли" in bot_lines()[-1]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_shop_confirms_through_the_api_and_the_customer_is_told_once(
    client, menu_delivery, shop_key
):
    press(client, menu_delivery)
    reorder = Reorder.objects.get()
    with celery_worker():
        answer = decide(client, shop_key, reorder, "confirm", order_external_id="A-501",
                        message="Доставка в понеділок 9-11.")  # fmt: skip
        assert answer.status_code == 200, answer.content
        assert answer.json()["state"] == "confirmed"
        told = wait_for(lambda: [t for t in bot_lines() if "A-501" in t])
        # A replay (the shop's retry) answers the same and tells nobody again.
        again = decide(client, shop_key, reorder, "confirm", order_external_id="A-501")
        assert again.status_code == 200 and again.json()["order_external_id"] == "A-501"
        # Declining what was confirmed is a conflict.
        assert decide(client, shop_key, reorder, "decline").status_code == 409
        time.sleep(2)

    assert told == ["Готово! Ваше замовлення A-501 підтверджено.\nДоставка в понеділок 9-11."]
    assert len([t for t in bot_lines() if "A-501" in t]) == 1
    reorder.refresh_from_db()
    assert (reorder.state, reorder.order_external_id) == ("confirmed", "A-501")


def test_forged_or_malformed_confirmations_are_refused(client, menu_delivery, shop_key):
    press(client, menu_delivery)
    reorder = Reorder.objects.get()

    assert (
        decide(client, "not-a-key", reorder, "confirm", order_external_id="A-1").status_code == 401
    )
    missing = decide(client, shop_key, reorder, "confirm")
    assert missing.status_code == 400 and "order_external_id" in missing.json()
    unknown = client.post(
        "/api/v1/reorders/00000000-0000-0000-0000-000000000000/confirm/",
        json.dumps({"order_external_id": "A-1"}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {shop_key}"},
    )
    assert unknown.status_code == 404
    reorder.refresh_from_db()
    assert reorder.state == "requested"


def test_a_decline_is_told_with_the_shops_reason(client, menu_delivery, shop_key):
    press(client, menu_delivery)
    reorder = Reorder.objects.get()

    answer = decide(
        client, shop_key, reorder, "decline", message="Цього тижня меню вже розпродане."
    )

    assert answer.status_code == 200 and answer.json()["state"] == "declined"
    assert decide(client, shop_key, reorder, "confirm", order_external_id="A-9").status_code == 409
