"""Fallbacks end to end: a real Celery worker, the fake platform over HTTP, the shop's order API
and the platforms' webhooks. The test plays beat, sending the materialize and dispatch ticks
every half second as beat would (config/celery.py)."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.tasks import dispatch_tick, materialize_tick
from shopwebhooks.models import ShopEvent
from subscriptions.models import ApiKey
from tests.channels.webhooks import deliver_signed
from tests.factories import CampaignFactory, CustomerFactory, DeliveryFactory, SubscriptionFactory
from tests.subscriptions.api_support import order_body
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
X = dt.timedelta(seconds=2)


def beat_until(predicate, timeout: float = 40):
    def tick_and_check():
        materialize_tick.delay()
        dispatch_tick.delay()
        return predicate()

    return wait_for(tick_and_check, timeout=timeout, interval=0.5)


def telegram_stop(client, account, chat_id: int):
    update = {
        "update_id": 800000 + chat_id % 1000,
        "message": {
            "message_id": 7,
            "from": {"id": chat_id, "is_bot": False, "first_name": "C"},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": "/stop",
        },
    }
    return deliver_signed(client, account, update)


def test_a_telegram_message_not_delivered_in_time_goes_to_the_customers_whatsapp(
    client, fake_platform, account_on
):
    telegram, whatsapp = account_on("telegram"), account_on("whatsapp")
    campaign = CampaignFactory(
        category="service",
        content={"default": {"text": "Your order is on its way"}},
        respect_quiet_hours=False,
        fallback_not_delivered_after=X,
        fallback_channels=["whatsapp"],
    )
    chats = {}
    for name, chat_id in (("kept", 9001), ("ordered", 9002), ("stopped", 9003)):
        customer = CustomerFactory(external_id=f"C-{name}")
        chats[name] = SubscriptionFactory(
            customer=customer, account=telegram, platform_user_id=str(chat_id), order=None
        )
        SubscriptionFactory(
            customer=customer,
            account=whatsapp,
            platform_user_id=f"1555000{chat_id}",
            last_inbound_at=timezone.now(),
            order=None,
        )
        DeliveryFactory(campaign=campaign, subscription=chats[name])
    fake_platform.fail(500, platform="telegram")  # Telegram is down: nothing gets through
    _, key = ApiKey.issue("shop")

    with celery_worker():
        beat_until(lambda: len(fake_platform.requests_for("telegram")) >= 3)
        # Meanwhile one customer orders again and another says STOP to the bot.
        body = order_body(external_id="A-2001", created_at=timezone.now().isoformat())
        body["customer"]["external_id"] = "C-ordered"
        ordered = client.post(
            "/api/v1/orders/", body, content_type="application/json",
            headers={"Authorization": f"Api-Key {key}"},
        )  # fmt: skip
        assert ordered.status_code == 201, ordered.content
        assert telegram_stop(client, telegram, 9003).status_code == 200
        wait_for(lambda: chats["stopped"].__class__.objects.get(pk=chats["stopped"].pk).status
                 == "unsubscribed")  # fmt: skip

        sent = beat_until(lambda: fake_platform.requests_for("whatsapp"))[0]
        wait_for(lambda: Delivery.objects.filter(fallback_of__isnull=False, state="sent").exists())
        time.sleep(3 * X.total_seconds())  # the others' moments pass too: still nothing
        materialize_tick.delay(), dispatch_tick.delay()
        time.sleep(1)

    assert sent.recipient == "15550009001"
    assert [r.recipient for r in fake_platform.requests_for("whatsapp")] == ["15550009001"]
    [fallback] = Delivery.objects.filter(fallback_of__isnull=False)
    original = fallback.fallback_of
    assert original.subscription == chats["kept"]
    assert fallback.reason in (
        "fallback after not delivered on telegram",
        "fallback after failed on telegram",
    )
    assert fallback.state == "sent"
    assert original.state in ("skipped", "failed")
    [event] = ShopEvent.objects.filter(type="fallback.sent")
    assert event.data["customer_external_id"] == "C-kept"
    assert event.data["original_channel"] == "telegram"
