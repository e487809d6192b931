"""The campaign engine end to end: REST event -> trigger -> real worker -> fake Telegram -> answer.

Real PostgreSQL, real Redis, a real Celery worker process and the fake platform server over HTTP.
No beat runs in tests: the test plays beat by sending the dispatch tick now and then, the way
the real beat does every DISPATCH_TICK_SECONDS.
"""

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery, SurveyAnswer
from campaigns.tasks import dispatch_tick
from subscriptions.models import ApiKey
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)
from tests.workers import celery_worker, wait_for

DELAY = dt.timedelta(seconds=2)
SURVEY = {
    "default": {
        "text": "How was {items}?",
        "buttons": [{"text": str(n), "payload": f"survey:{{delivery}}:{n}"} for n in range(1, 6)],
    }
}


def sends_to(fake_platform, chat_id: str) -> list:
    return [
        r
        for r in fake_platform.requests_for("telegram")
        if r.kind == "sendMessage" and r.recipient == chat_id
    ]


def beat_until(predicate):
    """Send the dispatch tick every half second (as beat would) until `predicate()` holds."""

    def tick_and_check():
        dispatch_tick.delay()
        return predicate()

    return wait_for(tick_and_check, timeout=30, interval=0.5)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_triggered_survey_goes_out_after_its_delay_and_the_answer_is_stored(
    client, fake_platform, account_on
):
    # given a Telegram subscriber with a delivered order, and a survey 2 s after delivery
    account = account_on("telegram")
    customer = CustomerFactory(locale="en")
    order = OrderFactory(customer=customer, items=0, external_id="A-777", status="paid")
    OrderItemFactory(order=order, sku="borscht", name="Borscht")
    subscription = SubscriptionFactory(
        customer=customer, account=account, order=order, platform_user_id="5550001"
    )
    campaign: Campaign = CampaignFactory(
        kind="triggered",
        category="survey",
        topic="surveys",
        trigger_event="order.delivered",
        trigger_delay=DELAY,
        respect_quiet_hours=False,
        content=SURVEY,
    )
    _, key = ApiKey.issue("shop")
    with celery_worker():
        # when the shop posts order.delivered through the REST API
        occurred = timezone.now()
        response = client.post(
            "/api/v1/events/",
            {
                "event_id": "evt-delivered-1",
                "type": "order.delivered",
                "order_external_id": "A-777",
                "occurred_at": occurred.isoformat(),
            },
            content_type="application/json",
            headers={"Authorization": f"Api-Key {key}"},
        )
        assert response.status_code in (200, 201), response.content
        # then the worker fires the trigger (on-commit task) and, once due, sends the survey
        delivery = wait_for(lambda: Delivery.objects.filter(campaign=campaign).first())
        assert delivery.due_at == occurred + DELAY
        [survey] = beat_until(lambda: sends_to(fake_platform, "5550001"))
        assert survey.received_at >= (occurred + DELAY).timestamp()  # not before its delay
        assert survey.json["text"] == "How was 1 × Borscht?"  # noqa: RUF001 - content.py writes a multiplication sign
        buttons = [b for row in survey.json["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[3]["callback_data"] == f"survey:{delivery.pk}:4"
        wait_for(lambda: Delivery.objects.get(pk=delivery.pk).state == "sent")

        # when the customer presses "4" (Telegram posts a callback_query to our webhook)
        update = {
            "update_id": 900001,
            "callback_query": {
                "id": "cbq-1",
                "from": {"id": 5550001, "is_bot": False, "first_name": "Olga"},
                "message": {
                    "message_id": 1,
                    "chat": {"id": 5550001, "type": "private"},
                    "date": int(time.time()),
                },
                "chat_instance": "1",
                "data": buttons[3]["callback_data"],
            },
        }
        hook = client.post(
            f"/hooks/{account.name}/",
            json.dumps(update),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": account.webhook_secret},
        )
        # then the answer is stored against the delivery, its order and items
        assert hook.status_code == 200
        answer = SurveyAnswer.objects.get(delivery=delivery)
        assert (answer.score, answer.order_id, answer.items) == (4, order.pk, ["borscht"])
        # and the thanks reaches the customer through the worker
        wait_for(lambda: len(sends_to(fake_platform, "5550001")) == 2)
        thanks = sends_to(fake_platform, "5550001")[-1]
        assert thanks.json["text"].startswith("Thanks")
    assert subscription.pk == delivery.subscription_id


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_zero_delay_trigger_goes_out_without_waiting_for_beat(client, fake_platform, account_on):
    # given a service message on order.paid with no delay, and no beat ticking at all
    account = account_on("telegram")
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, external_id="A-778")
    SubscriptionFactory(customer=customer, account=account, order=order, platform_user_id="777")
    CampaignFactory(
        kind="triggered",
        category="service",
        trigger_event="order.paid",
        respect_quiet_hours=False,
        content={"default": {"text": "Paid: order {order}"}},
    )
    _, key = ApiKey.issue("shop")
    with celery_worker():
        # when the shop posts order.paid
        response = client.post(
            "/api/v1/events/",
            {
                "event_id": "evt-paid-1",
                "type": "order.paid",
                "order_external_id": "A-778",
                "occurred_at": timezone.now().isoformat(),
            },
            content_type="application/json",
            headers={"Authorization": f"Api-Key {key}"},
        )
        assert response.status_code in (200, 201), response.content
        # then the trigger's own wake-up gets it sent (no tick is ever sent in this test)
        [sent] = wait_for(lambda: sends_to(fake_platform, "777"))
        assert sent.json["text"] == "Paid: order A-778"
