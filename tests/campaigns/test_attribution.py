import datetime as dt

import pytest
from django.utils import timezone

from campaigns.attribution import order_attribute
from campaigns.models import Attribution
from campaigns.stats import campaign_stats
from campaigns.triggers import trigger_fire
from tests.factories import (
    CampaignFactory,
    DeliveryFactory,
    OrderEventFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
PLACED = timezone.now()


@pytest.fixture
def subscription():
    return SubscriptionFactory(order=None)


def delivery(subscription, **stamps):
    return DeliveryFactory(subscription=subscription, state="sent", **stamps)


def new_order(subscription):
    return OrderFactory(customer=subscription.customer, placed_at=PLACED)


def test_an_order_is_credited_to_a_message_read_within_the_window(subscription):
    menu = delivery(subscription, read_at=PLACED - dt.timedelta(days=2))
    order = new_order(subscription)
    attribution = order_attribute(order=order)
    assert (attribution.delivery, attribution.via) == (menu, "read")


def test_the_latest_click_or_read_wins(subscription):
    delivery(subscription, read_at=PLACED - dt.timedelta(days=1))
    clicked = delivery(subscription, clicked_at=PLACED - dt.timedelta(hours=2))
    delivery(subscription, read_at=PLACED - dt.timedelta(days=3))
    attribution = order_attribute(order=new_order(subscription))
    assert (attribution.delivery, attribution.via) == (clicked, "click")


def test_engagement_outside_the_window_earns_nothing(subscription, settings):
    settings.ATTRIBUTION_WINDOW_DAYS = 7
    delivery(subscription, clicked_at=PLACED - dt.timedelta(days=8))
    delivery(subscription, read_at=PLACED + dt.timedelta(minutes=1))  # read after ordering
    assert order_attribute(order=new_order(subscription)) is None
    assert not Attribution.objects.exists()


def test_attribution_is_idempotent(subscription):
    delivery(subscription, read_at=PLACED - dt.timedelta(hours=1))
    order = new_order(subscription)
    first = order_attribute(order=order)
    delivery(subscription, clicked_at=PLACED - dt.timedelta(minutes=1))
    assert order_attribute(order=order) == first
    assert Attribution.objects.count() == 1


def test_an_order_created_event_attributes_the_order(subscription):
    menu = delivery(subscription, clicked_at=PLACED - dt.timedelta(hours=5))
    order = new_order(subscription)
    trigger_fire(event=OrderEventFactory(order=order, type="order.created"))
    assert Attribution.objects.get(order=order).delivery == menu


def test_stats_compare_repeat_purchases_of_sent_and_holdout():
    # given 2 sent (one buys again within the window) and 2 held out (none buys)
    campaign = CampaignFactory(holdout_percent=50)
    due = PLACED - dt.timedelta(days=3)
    buyers = []
    for state, reason in (
        ("sent", ""),
        ("sent", ""),
        ("skipped", "holdout"),
        ("skipped", "holdout"),
    ):
        sub = SubscriptionFactory(order=None)
        DeliveryFactory(campaign=campaign, subscription=sub, state=state, reason=reason, due_at=due)
        buyers.append(sub)
    OrderFactory(customer=buyers[0].customer, placed_at=due + dt.timedelta(days=1))
    OrderFactory(customer=buyers[2].customer, placed_at=due - dt.timedelta(days=1))  # before
    # when
    holdout = campaign_stats(campaign)["holdout"]
    # then
    assert holdout["sent"] == {"members": 2, "repeat_buyers": 1, "repeat_rate": 50.0}
    assert holdout["holdout"] == {"members": 2, "repeat_buyers": 0, "repeat_rate": 0.0}
    assert holdout["uplift_points"] == 50.0


def test_a_campaign_with_a_holdout_of_30_is_not_yet_measurable():
    # given 270 recipients (60 bought again) and a holdout of 30 (5 bought again)
    campaign = CampaignFactory(holdout_percent=10)
    due = PLACED - dt.timedelta(days=3)
    for n in range(300):
        held = n < 30
        sub = SubscriptionFactory(order=None)
        DeliveryFactory(
            campaign=campaign, subscription=sub, due_at=due,
            state="skipped" if held else "sent", reason="holdout" if held else "",
        )  # fmt: skip
        if (held and n < 5) or (not held and n < 90):
            OrderFactory(customer=sub.customer, placed_at=due + dt.timedelta(days=1))

    holdout = campaign_stats(campaign)["holdout"]

    assert (holdout["sent"]["members"], holdout["sent"]["repeat_buyers"]) == (270, 60)
    assert (holdout["holdout"]["members"], holdout["holdout"]["repeat_buyers"]) == (30, 5)
    assert holdout["verdict"].startswith("not yet measurable: about ")
    lower, upper = holdout["ci95_points"]
    assert lower < holdout["uplift_points"] < upper and lower < 0 < upper
