"""Send-time policies, evaluated at an explicit `now` (time travel without freezing clocks)."""

from datetime import UTC, datetime, time, timedelta

import pytest

from campaigns.models import Delivery
from campaigns.policies import DEFER, SEND, SKIP, evaluate, held_out
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
# Tuesday 10 March 2026, 12:00 UTC: daytime in every zone used below except where noted.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _delivery(kind: str = "telegram", *, category: str = "marketing", **fields) -> Delivery:
    """A due delivery; `sub__x`, `customer__x`, `campaign__x` fields go to those objects."""
    pick = {
        prefix: {k.split("__", 1)[1]: v for k, v in fields.items() if k.startswith(prefix)}
        for prefix in ("sub__", "customer__", "campaign__")
    }
    customer = CustomerFactory(**pick["customer__"])
    subscription = SubscriptionFactory(
        customer=customer, account=ChannelAccountFactory(kind=kind), **pick["sub__"]
    )
    campaign = CampaignFactory(category=category, **pick["campaign__"])
    extra = {k: v for k, v in fields.items() if "__" not in k}
    return DeliveryFactory(campaign=campaign, subscription=subscription, **extra)


def _decide(delivery: Delivery, now: datetime = NOON):
    [decision] = evaluate([delivery], now=now)
    return decision


# --- 1 and 2: subscription and topic --------------------------------------------------------


@pytest.mark.parametrize("status", ["unsubscribed", "blocked"])
def test_it_skips_an_inactive_subscription(status):
    # given a subscription that left, and also did not consent to the topic
    delivery = _delivery(sub__status=status, sub__wants_menu=False)

    decision = _decide(delivery)

    # then the first policy in order gives the reason
    assert (decision.action, decision.reason) == (SKIP, f"subscription {status}")


def test_it_skips_a_topic_the_customer_did_not_choose():
    delivery = _delivery(campaign__topic="promotions", sub__wants_promotions=False)

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (SKIP, "topic promotions not consented")


@pytest.mark.parametrize(
    ("category", "topic", "opted_out", "reason"),
    [
        # a survey needs "surveys" whatever topic it names (old rows, hand edits)
        ("survey", "", "wants_surveys", "topic surveys not consented"),
        ("survey", "menu", "wants_surveys", "topic surveys not consented"),
        # marketing needs its topic, "promotions" when it names none
        ("marketing", "", "wants_promotions", "topic promotions not consented"),
        ("marketing", "menu", "wants_menu", "topic menu not consented"),
    ],
)
def test_it_never_sends_a_non_service_message_to_a_customer_who_opted_out_of_its_kind(
    category, topic, opted_out, reason
):
    # given a campaign whose topic is blank or beside the point, and a customer who opted out
    delivery = _delivery(category=category, campaign__topic=topic, **{f"sub__{opted_out}": False})

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (SKIP, reason)


def test_it_sends_marketing_about_the_menu_to_a_customer_who_only_wants_the_menu():
    delivery = _delivery(
        campaign__topic="menu", sub__wants_promotions=False, sub__wants_surveys=False
    )

    assert _decide(delivery).action == SEND


def test_it_sends_service_messages_whatever_the_topics():
    delivery = _delivery(
        category="service", campaign__topic="menu", sub__wants_menu=False, order=OrderFactory()
    )

    assert _decide(delivery).action == SEND


# --- 2b: a weekly menu's customer who already ordered for the coming week -----------------
# NOON is in ISO week 2026-W11; its Thursday 10:00 UTC menu follows the one of 5 March.
LAST_MENU = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def _weekly(**fields) -> Delivery:
    return _delivery(
        campaign__kind="recurring", campaign__weekday=3, campaign__local_time=time(10),
        occurrence="2026-W11", sub__order=None, **fields,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("placed", "status", "conditions", "action"),
    [
        (LAST_MENU + timedelta(hours=1), "created", {}, SKIP),  # since the last menu
        (NOON - timedelta(minutes=5), "paid", {}, SKIP),  # just before this send
        (LAST_MENU - timedelta(hours=1), "created", {}, SEND),  # before the last menu
        (NOON - timedelta(minutes=5), "cancelled", {}, SEND),  # no purchase
        (NOON - timedelta(minutes=5), "created", {"skip_already_ordered": False}, SEND),
    ],
)
def test_it_skips_a_weekly_menu_for_a_customer_who_already_ordered_at_send_time(
    placed, status, conditions, action
):
    # given a weekly menu row written earlier, and an order placed since (or not)
    delivery = _weekly(campaign__trigger_conditions=conditions)
    OrderFactory(customer=delivery.subscription.customer, placed_at=placed, status=status)

    decision = _decide(delivery)

    assert decision.action == action
    if action == SKIP:
        assert decision.reason == "already_ordered"


def test_it_looks_up_recent_orders_once_per_batch_and_not_at_all_without_weekly_rows(
    django_assert_num_queries,
):
    weekly = [_weekly() for _ in range(3)]
    OrderFactory(customer=weekly[0].subscription.customer, placed_at=NOON - timedelta(hours=1))
    one_off = _delivery(category="service", order=OrderFactory())

    def batch(rows):
        return list(
            Delivery.objects.filter(pk__in=[r.pk for r in rows])
            .select_related("subscription__customer", "campaign", "account")
            .order_by("pk")
        )

    weekly_rows, one_off_rows = batch(weekly), batch([one_off])
    with django_assert_num_queries(3):  # recent orders, the cap (sent, queued)
        decisions = evaluate(weekly_rows, now=NOON)
    with django_assert_num_queries(0):
        evaluate(one_off_rows, now=NOON)

    assert [d.reason for d in decisions] == ["already_ordered", "", ""]


# --- 3: platform windows --------------------------------------------------------------------

HOURS_AGO = {"never": None, "2h": 2, "30h": 30}
WINDOW_CASES = [
    # kind, category, customer's last message, WhatsApp template, -> action, reason, outside
    ("telegram", "marketing", "never", "", SEND, "", False),
    ("viber", "marketing", "never", "", SEND, "", False),
    ("sandbox", "marketing", "never", "", SEND, "", False),
    ("messenger", "marketing", "2h", "", SEND, "", False),
    ("messenger", "service", "30h", "", SEND, "", True),
    ("messenger", "marketing", "30h", "", SKIP, "messenger window closed", False),
    ("messenger", "survey", "30h", "", SKIP, "messenger window closed", False),
    ("messenger", "survey", "never", "", SKIP, "messenger window closed", False),
    ("vk", "marketing", "2h", "", SEND, "", False),
    ("vk", "marketing", "30h", "", SEND, "", True),
    ("whatsapp", "marketing", "2h", "", SEND, "", False),
    ("whatsapp", "marketing", "30h", "weekly_menu", SEND, "", True),
    ("whatsapp", "marketing", "30h", "", SKIP, "whatsapp window closed, no template", False),
    ("whatsapp", "survey", "never", "", SKIP, "whatsapp window closed, no template", False),
]


@pytest.mark.parametrize(
    ("kind", "category", "last", "template", "action", "reason", "outside"), WINDOW_CASES
)
def test_it_applies_each_platforms_window_rule(
    kind, category, last, template, action, reason, outside
):
    # given the customer's last message some time ago (or never)
    hours = HOURS_AGO[last]
    delivery = _delivery(
        kind,
        category=category,
        campaign__whatsapp_template=template,
        sub__last_inbound_at=None if hours is None else NOON - timedelta(hours=hours),
        order=OrderFactory(),
    )

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (action, reason)
    if action == SEND:
        assert decision.options.outside_window is outside
        assert decision.options.template == (template if outside else "")
        assert decision.options.idempotency_key == str(delivery.pk)


def test_it_never_tags_a_service_message_that_is_no_order_update():
    # Messenger's POST_PURCHASE_UPDATE tag is for an existing purchase only
    delivery = _delivery(
        "messenger", category="service", sub__last_inbound_at=NOON - timedelta(days=3)
    )

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (SKIP, "messenger window closed")


# --- 4: quiet hours -------------------------------------------------------------------------

# 20:30 UTC on 10 March 2026 (New York already on summer time since 8 March).
EVENING = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)
QUIET_CASES = [
    # zone, -> action, due_at (UTC) when deferred
    ("Europe/Moscow", DEFER, datetime(2026, 3, 11, 6, 0, tzinfo=UTC)),  # 23:30 -> 09:00 +03
    ("Asia/Tokyo", DEFER, datetime(2026, 3, 11, 0, 0, tzinfo=UTC)),  # 05:30 -> 09:00 +09
    ("America/New_York", SEND, None),  # 16:30 local
]


@pytest.mark.parametrize(("zone", "action", "due_at"), QUIET_CASES)
def test_it_defers_quiet_hours_to_the_next_allowed_minute_in_the_customers_zone(
    zone, action, due_at
):
    delivery = _delivery(customer__time_zone=zone)

    decision = _decide(delivery, now=EVENING)

    assert (decision.action, decision.due_at) == (action, due_at)
    if action == DEFER:
        assert decision.reason == "quiet hours"


def test_it_sends_in_quiet_hours_when_the_campaign_ignores_them():
    delivery = _delivery(customer__time_zone="Europe/Moscow", campaign__respect_quiet_hours=False)

    assert _decide(delivery, now=EVENING).action == SEND


def test_it_honours_quiet_hours_that_do_not_wrap_midnight():
    delivery = _delivery(
        campaign__quiet_hours_start=time(12, 0), campaign__quiet_hours_end=time(14, 0)
    )

    decision = _decide(delivery, now=NOON + timedelta(minutes=30))

    assert (decision.action, decision.due_at) == (DEFER, NOON + timedelta(hours=2))


# --- 5: frequency cap -----------------------------------------------------------------------


def _sent_marketing(subscription, days_ago: float, state: str = "sent") -> None:
    DeliveryFactory(
        subscription=subscription,
        campaign=CampaignFactory(category="marketing"),
        state=state,
        sent_at=NOON - timedelta(days=days_ago),
    )


def test_it_caps_marketing_messages_per_customer_across_campaigns_and_channels():
    # given two marketing messages this week, on two different channels of the same customer
    delivery = _delivery()
    customer = delivery.subscription.customer
    _sent_marketing(delivery.subscription, days_ago=1)
    _sent_marketing(
        SubscriptionFactory(customer=customer, account=ChannelAccountFactory(kind="vk")), 6
    )

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (SKIP, "frequency cap")


def test_it_counts_only_the_last_seven_days_and_only_marketing():
    delivery = _delivery()
    _sent_marketing(delivery.subscription, days_ago=1)
    _sent_marketing(delivery.subscription, days_ago=8)
    DeliveryFactory(
        subscription=delivery.subscription,
        campaign=CampaignFactory(category="service"),
        state="sent",
        sent_at=NOON - timedelta(hours=1),
    )

    assert _decide(delivery).action == SEND


def test_it_does_not_cap_service_messages():
    delivery = _delivery(category="service", order=OrderFactory())
    _sent_marketing(delivery.subscription, days_ago=1)
    _sent_marketing(delivery.subscription, days_ago=2)

    assert _decide(delivery).action == SEND


def test_it_counts_messages_of_the_same_batch_in_two_queries(django_assert_num_queries):
    # given one earlier message and two more in the batch for the same customer
    first = _delivery()
    subscription = first.subscription
    _sent_marketing(subscription, days_ago=3)
    second = DeliveryFactory(subscription=subscription, campaign=CampaignFactory())
    batch = list(
        Delivery.objects.filter(pk__in=[first.pk, second.pk])
        .select_related("subscription__customer", "campaign", "account")
        .order_by("pk")
    )

    with django_assert_num_queries(2):  # sent, and queued on the account
        decisions = evaluate(batch, now=NOON)

    assert [(d.action, d.reason) for d in decisions] == [(SEND, ""), (SKIP, "frequency cap")]


# --- 6: holdout -----------------------------------------------------------------------------


def test_it_holds_out_the_same_subscriptions_every_time():
    first = [held_out(7, sub, 10) for sub in range(1000)]
    again = [held_out(7, sub, 10) for sub in range(1000)]

    assert first == again
    assert first != [held_out(8, sub, 10) for sub in range(1000)]  # per campaign


@pytest.mark.parametrize("percent", [5, 10, 50])
def test_it_holds_out_roughly_the_campaigns_share(percent):
    held = sum(held_out(42, sub, percent) for sub in range(1, 1001))

    # 1000 draws: the count is binomial; 4 standard deviations keeps the test deterministic
    spread = 4 * (1000 * percent / 100 * (1 - percent / 100)) ** 0.5
    assert abs(held - 10 * percent) <= spread


def test_it_records_holdout_as_the_reason():
    delivery = _delivery(campaign__holdout_percent=100)

    decision = _decide(delivery)

    assert (decision.action, decision.reason) == (SKIP, "holdout")


def test_it_holds_out_nobody_at_zero_percent():
    assert not any(held_out(42, sub, 0) for sub in range(1000))
