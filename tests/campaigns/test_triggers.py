import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from campaigns import tasks
from campaigns.models import Campaign, Delivery
from campaigns.services import materialize_tick
from campaigns.triggers import trigger_fire, winback_materialize
from subscriptions.models import OrderEvent
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    OrderEventFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
SURVEY = {"default": {"text": "How was {items}?"}}


def survey(**fields) -> Campaign:
    fields.setdefault("trigger_event", "order.delivered")
    fields.setdefault("trigger_delay", dt.timedelta(hours=3))
    return CampaignFactory(
        kind="triggered", category="survey", topic="surveys", content=SURVEY, **fields
    )


@pytest.fixture
def customer_with_order():
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, items=0, total=Decimal("40.00"))
    OrderItemFactory(order=order, sku="borscht")
    OrderItemFactory(order=order, sku="syrniki")
    subscription = SubscriptionFactory(customer=customer, order=order)
    return customer, order, subscription


def test_it_writes_a_survey_due_three_hours_after_delivery(customer_with_order):
    # given a running survey on order.delivered + 3 h and a delivered order
    _, order, subscription = customer_with_order
    campaign = survey()
    delivered = timezone.now()
    event = OrderEventFactory(order=order, type="order.delivered", occurred_at=delivered)
    # when
    created = trigger_fire(event=event)
    # then
    assert created == 1
    row = Delivery.objects.get(campaign=campaign)
    assert row.subscription == subscription and row.account_id == subscription.account_id
    assert row.due_at == delivered + dt.timedelta(hours=3)
    assert (row.order, row.order_event, row.occurrence) == (order, event, f"event:{event.event_id}")
    assert (row.state, row.priority) == ("pending", 1)
    event.refresh_from_db()
    assert event.processed_at is not None


def test_it_fires_each_event_once(customer_with_order):
    _, order, _ = customer_with_order
    survey()
    event = OrderEventFactory(order=order)
    assert trigger_fire(event=event) == 1
    assert trigger_fire(event=event) == 0
    assert Delivery.objects.count() == 1


def test_it_sends_one_survey_per_customer_on_the_subscription_linked_to_the_order(
    customer_with_order,
):
    # given a customer subscribed on three channels (one blocked) and someone else; the
    # order was linked on Telegram, and Viber is where they last wrote
    customer, order, telegram_sub = customer_with_order
    viber_sub = SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="viber"),
        last_inbound_at=timezone.now(),
    )
    SubscriptionFactory(
        customer=customer, account=ChannelAccountFactory(kind="vk"), status="blocked"
    )
    SubscriptionFactory(account=telegram_sub.account)  # someone else
    everywhere, viber_only = survey(), survey()
    viber_only.accounts.set([viber_sub.account])
    # when
    trigger_fire(event=OrderEventFactory(order=order))
    # then one delivery per campaign: where the order was linked, if the campaign reaches it
    reached = Delivery.objects.filter(campaign=everywhere).values_list("subscription", flat=True)
    assert list(reached) == [telegram_sub.pk]
    assert list(
        Delivery.objects.filter(campaign=viber_only).values_list("subscription", flat=True)
    ) == [viber_sub.pk]


def test_it_falls_back_to_the_customers_most_recently_active_subscription(customer_with_order):
    # given the subscription linked to the order was blocked since; of the other two, the
    # customer last wrote on VK
    customer, order, telegram_sub = customer_with_order
    telegram_sub.status = "blocked"
    telegram_sub.save()
    now = timezone.now()
    SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="viber"),
        last_inbound_at=now - dt.timedelta(days=3),
    )
    vk_sub = SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="vk"),
        last_inbound_at=now - dt.timedelta(hours=1),
    )
    campaign = survey()
    # when
    trigger_fire(event=OrderEventFactory(order=order))
    # then
    assert list(
        Delivery.objects.filter(campaign=campaign).values_list("subscription", flat=True)
    ) == [vk_sub.pk]


@pytest.mark.parametrize(
    ("conditions", "fires"),
    [
        ({"skus": ["borscht", "pelmeni"]}, True),
        ({"skus": ["pelmeni"]}, False),
        ({"min_total": 30}, True),
        ({"min_total": "50.00"}, False),
        ({"max_total": 39.99}, False),
        ({"skus": ["syrniki"], "max_total": 100}, True),
    ],
)
def test_it_fires_only_when_the_conditions_match(customer_with_order, conditions, fires):
    _, order, _ = customer_with_order
    campaign = survey(trigger_conditions=conditions)
    trigger_fire(event=OrderEventFactory(order=order))
    assert Delivery.objects.filter(campaign=campaign).exists() is fires


def test_one_pass_fires_a_burst_of_events_each_for_its_own_order(django_assert_max_num_queries):
    # given a survey on delivered orders of borscht, and five customers' events at once: two
    # orders without borscht, one customer with two delivered orders
    campaign = survey(trigger_conditions={"skus": ["borscht"]})
    events, expected = [], set()
    for n in range(5):
        customer = CustomerFactory()
        order = OrderFactory(customer=customer, items=0)
        OrderItemFactory(order=order, sku="borscht" if n % 2 == 0 else "syrniki")
        subscription = SubscriptionFactory(customer=customer, order=order)
        events.append(OrderEventFactory(order=order, type="order.delivered"))
        if n % 2 == 0:
            expected.add((subscription.pk, events[-1].pk))
        if n == 0:  # the same customer's second order
            second = OrderFactory(customer=customer, items=0)
            OrderItemFactory(order=second, sku="borscht")
            events.append(OrderEventFactory(order=second, type="order.delivered"))
            expected.add((subscription.pk, events[-1].pk))

    # when the first event's task runs (the others arrived with it)
    with django_assert_max_num_queries(12):
        tasks.order_event_received(events[0].pk)

    # then each matching event got its delivery in that one pass, and all are processed
    rows = Delivery.objects.filter(campaign=campaign)
    assert set(rows.values_list("subscription_id", "order_event_id")) == expected
    assert not OrderEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_delay_beyond_the_calendar_skips_its_campaign_and_fires_the_others(
    customer_with_order,
):
    # given a survey whose delay lands past year 9999, and an ordinary one
    _, order, _ = customer_with_order
    never = survey(trigger_delay=dt.timedelta(days=999_999_999))
    ordinary = survey()
    event = OrderEventFactory(order=order)

    # when the event fires, then only the ordinary survey is written, and the event is done
    assert trigger_fire(event=event) == 1
    assert set(Delivery.objects.values_list("campaign_id", flat=True)) == {ordinary.pk}
    assert not Delivery.objects.filter(campaign=never).exists()
    event.refresh_from_db()
    assert event.processed_at is not None


def test_it_ignores_other_event_types_and_campaigns_not_running(customer_with_order):
    _, order, _ = customer_with_order
    on_paid = survey(trigger_event="order.paid")
    paused = survey(status="paused")
    trigger_fire(event=OrderEventFactory(order=order, type="order.delivered"))
    assert not Delivery.objects.filter(campaign__in=[on_paid, paused]).exists()


def test_it_records_an_event_too_old_to_trigger_without_sending(customer_with_order):
    _, order, _ = customer_with_order
    survey()
    event = OrderEventFactory(order=order, occurred_at=timezone.now() - dt.timedelta(days=30))
    assert trigger_fire(event=event) == 0
    event.refresh_from_db()
    assert event.processed_at is not None


def test_the_task_fires_the_event_and_wakes_the_account(
    customer_with_order, django_capture_on_commit_callbacks
):
    _, order, subscription = customer_with_order
    survey(trigger_delay=dt.timedelta(0))
    event = OrderEventFactory(order=order)
    with mock.patch("campaigns.tasks._enqueue") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.order_event_received(event.pk)
    assert Delivery.objects.filter(order_event=event).count() == 1
    enqueue.assert_called_once_with(subscription.account_id)


def test_the_tick_sweeps_events_whose_task_was_lost(customer_with_order):
    _, order, _ = customer_with_order
    campaign = survey()
    lost = OrderEventFactory(order=order)
    fresh = OrderEventFactory(order=order, event_id="evt-fresh")
    now = timezone.now()
    OrderEvent.objects.filter(pk=lost.pk).update(received_at=now - dt.timedelta(minutes=5))
    materialize_tick(now=now, refresh=False)
    assert Delivery.objects.filter(campaign=campaign, order_event=lost).exists()
    fresh.refresh_from_db()
    assert fresh.processed_at is None  # its own task is probably still on the way


# --- win-back -----------------------------------------------------------------------------------
def winback() -> Campaign:
    return CampaignFactory(
        kind="triggered",
        trigger_event="no_order_since_delivery",
        trigger_delay=dt.timedelta(days=14),
    )


def customer_who_ordered(*, delivered_days_ago: float, now: dt.datetime, **order_fields):
    customer = CustomerFactory()
    delivered = now - dt.timedelta(days=delivered_days_ago)
    order = OrderFactory(
        customer=customer,
        status="delivered",
        placed_at=delivered - dt.timedelta(days=1),
        delivered_at=delivered,
        **order_fields,
    )
    return SubscriptionFactory(customer=customer, order=order), order


def test_winback_reaches_customers_whose_last_delivered_order_is_over_14_days_old():
    now = timezone.now()
    campaign = winback()
    lapsed, lapsed_order = customer_who_ordered(delivered_days_ago=15, now=now)
    customer_who_ordered(delivered_days_ago=10, now=now)
    came_back, _ = customer_who_ordered(delivered_days_ago=20, now=now)
    OrderFactory(customer=came_back.customer, placed_at=now - dt.timedelta(days=2))
    assert winback_materialize(campaign=campaign, now=now) == 1
    row = Delivery.objects.get(campaign=campaign)
    assert row.subscription == lapsed and row.order == lapsed_order
    assert row.occurrence == f"winback:{lapsed_order.pk}"
    # once per lapsed order: the next pass writes nothing new
    assert winback_materialize(campaign=campaign, now=now + dt.timedelta(hours=1)) == 0


def test_winback_writes_one_delivery_for_a_customer_on_two_channels():
    now = timezone.now()
    campaign = winback()
    linked, _ = customer_who_ordered(delivered_days_ago=15, now=now)
    SubscriptionFactory(
        customer=linked.customer,
        account=ChannelAccountFactory(kind="viber"),
        order=None,
        last_inbound_at=now,
    )
    assert winback_materialize(campaign=campaign, now=now) == 1
    assert Delivery.objects.get(campaign=campaign).subscription == linked  # linked to the order
