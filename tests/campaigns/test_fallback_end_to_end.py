"""Fallbacks end to end: a real Celery worker, the fake platform over HTTP, the shop's order API
and the platforms' webhooks. The test plays beat, sending the materialize and dispatch ticks
as beat would (config/celery.py)."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.tasks import dispatch_tick, materialize_tick
from shopwebhooks.models import ShopEvent
from subscriptions.models import ApiKey, Customer
from tests.channels.email.smtp import smtp_server
from tests.channels.webhooks import deliver_signed
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    SubscriptionFactory,
)
from tests.subscriptions.api_support import order_body
from tests.workers import celery_worker, queued, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
X = dt.timedelta(seconds=6)  # longer than the test takes to order and say STOP


def beat_until(predicate, timeout: float = 60):
    """Play beat: both ticks each second the queue is empty, until `predicate()` holds (a flood
    of ticks would only queue ahead of the dispatch runs they start, and outlive the test)."""

    def tick_and_check():
        if not queued():  # as beat's `expires` would: no ticks pile up behind a busy worker
            materialize_tick.delay()
            dispatch_tick.delay()
        return predicate()

    return wait_for(tick_and_check, timeout=timeout, interval=1)


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
    fake_platform.fail(500, platform="telegram")  # Telegram is down: nothing gets through
    _, key = ApiKey.issue("shop")

    with celery_worker():
        # Due once the worker is up: X counts from the rows' due time, and a worker slow to
        # start (a loaded CI box) would otherwise see X pass before a first try, and fall back
        # for all three.
        for chat in chats.values():
            DeliveryFactory(campaign=campaign, subscription=chat)
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
        time.sleep(X.total_seconds() + 2)  # the others' moments pass too: still nothing
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


def viber_receipt(client, account, event: str, delivery: Delivery):
    return deliver_signed(
        client,
        account,
        {
            "event": event,
            "timestamp": int(time.time() * 1000),
            "message_token": int(delivery.provider_message_id),
            "user_id": delivery.subscription.platform_user_id,
        },
    )


def test_a_viber_message_delivered_but_not_read_goes_by_email_only_with_consent(
    client, fake_platform, account_on, settings
):
    viber = account_on("viber")
    ChannelAccountFactory(kind="email", name="shop-email")
    _, key = ApiKey.issue("shop")
    customers = {"unread": True, "read": True, "no-consent": False}
    for name, consented in customers.items():
        body = order_body(external_id=f"A-{name}", created_at="2026-12-01T10:00:00+00:00")
        body["customer"] |= {"external_id": f"C-{name}", "email": f"{name}@example.com"}
        if consented:
            body["email_consent"] = {"granted": True, "wording": "Menu and offers by e-mail"}
        answer = client.post(
            "/api/v1/orders/", body, content_type="application/json",
            headers={"Authorization": f"Api-Key {key}"},
        )  # fmt: skip
        assert answer.status_code == 201, answer.content
    campaign = CampaignFactory(
        content={"default": {"text": "Next week's menu is here"}},
        respect_quiet_hours=False,
        fallback_not_read_after=dt.timedelta(seconds=8),  # the "seen" comes well before
        fallback_channels=["email"],
    )
    rows = {}
    for name in customers:
        chat = SubscriptionFactory(
            customer=Customer.objects.get(external_id=f"C-{name}"), account=viber, order=None
        )
        rows[name] = DeliveryFactory(campaign=campaign, subscription=chat)

    with smtp_server(settings) as mailbox:
        smtp = {
            "EMAIL_CHANNEL_BACKEND": settings.EMAIL_CHANNEL_BACKEND,
            "EMAIL_HOST": settings.EMAIL_HOST, "EMAIL_PORT": str(settings.EMAIL_PORT),
            "EMAIL_USE_TLS": "0",
        }  # fmt: skip
        with celery_worker(**smtp):
            beat_until(
                lambda: Delivery.objects.filter(campaign=campaign, state="sent").count() == 3
            )
            for name in customers:
                rows[name].refresh_from_db()
                assert viber_receipt(client, viber, "delivered", rows[name]).status_code == 200
            assert viber_receipt(client, viber, "seen", rows["read"]).status_code == 200

            beat_until(lambda: mailbox.messages)
            time.sleep(9)  # every row's Y has passed: nothing more may come
            materialize_tick.delay(), dispatch_tick.delay()
            time.sleep(2)

    [mail] = mailbox.messages
    assert mail["To"] == "unread@example.com"
    assert "Next week's menu is here" in mail.get_body(("plain",)).get_content()
    [fallback] = Delivery.objects.filter(fallback_of__isnull=False)
    assert fallback.fallback_of_id == rows["unread"].pk
    assert (fallback.state, fallback.reason) == ("sent", "fallback after not read on viber")
    assert Delivery.objects.get(pk=rows["read"].pk).read_at is not None
