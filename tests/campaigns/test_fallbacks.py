"""Fallback rules (campaigns/fallbacks.py): which rows fall back, when, to which channel, and
how the fallback row then goes through the dispatcher and its policies."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.dispatch import run_account
from campaigns.fallbacks import fallbacks_tick, next_kinds
from campaigns.models import Delivery
from shopwebhooks.models import ShopEvent
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.services import subscription_stop
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def now():
    return timezone.now()


def chats(*kinds: str, customer=None):
    """One customer's active subscriptions, one per kind, in that order."""
    customer = customer or CustomerFactory()
    return [
        SubscriptionFactory(customer=customer, account=ChannelAccountFactory(kind=k), order=None)
        for k in kinds
    ]


def campaign_with(**rules):
    defaults = {"fallback_channels": ["telegram", "viber", "whatsapp"]}
    return CampaignFactory(respect_quiet_hours=False, **{**defaults, **rules})


def sent_row(campaign, subscription, *, sent_ago: timedelta, **fields):
    at = timezone.now() - sent_ago
    values = {"state": "sent", "due_at": at, "sent_at": at, "created_at": at, **fields}
    return DeliveryFactory(campaign=campaign, subscription=subscription, **values)


def fallbacks_of(row: Delivery) -> list[Delivery]:
    return list(Delivery.objects.filter(fallback_of=row).select_related("account"))


def test_delivered_viber_message_not_read_in_time_goes_to_whatsapp(now):
    viber, whatsapp = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now - 2 * HOUR)

    assert fallbacks_tick(now=now) == 1

    [fallback] = fallbacks_of(row)
    assert fallback.subscription == whatsapp
    assert (fallback.account, fallback.campaign, fallback.occurrence) == (
        whatsapp.account,
        campaign,
        row.occurrence,
    )
    assert fallback.state == "pending"
    assert fallback.reason == "fallback after not read on viber"
    assert fallback.repeats_sent  # the cap counted the viber message already
    row.refresh_from_db()
    assert row.fallback_checked
    assert fallbacks_tick(now=now) == 0  # decided once


def test_not_yet_late_waits_and_is_decided_later(now):
    viber, _ = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=timedelta(minutes=10), delivered_at=now)

    assert fallbacks_tick(now=now) == 0
    row.refresh_from_db()
    assert not row.fallback_checked
    assert fallbacks_tick(now=now + HOUR) == 1


@pytest.mark.parametrize(
    "engaged", ["read_at", "clicked_at", "answered_at"], ids=["read", "clicked", "answered"]
)
def test_an_engaged_message_never_falls_back(now, engaged):
    viber, _ = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now, **{engaged: now - HOUR})

    assert fallbacks_tick(now=now) == 0
    row.refresh_from_db()
    assert row.fallback_checked and not fallbacks_of(row)


def test_no_fallback_after_the_customer_unsubscribed_anywhere(now):
    viber, whatsapp = chats("viber", "whatsapp")
    other = chats("viber", "whatsapp")[0]
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)
    kept = sent_row(campaign, other, sent_ago=2 * HOUR, delivered_at=now)
    # The first customer said STOP on WhatsApp after the message: they want less, not more.
    subscription_stop(subscription=whatsapp, source="keyword", evidence="STOP")

    assert fallbacks_tick(now=now) == 1
    assert not fallbacks_of(row)
    assert len(fallbacks_of(kept)) == 1


def test_no_fallback_after_the_original_chat_ended(now):
    viber, _ = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)
    Subscription.objects.filter(pk=viber.pk).update(status="blocked")

    assert fallbacks_tick(now=now) == 0
    assert not fallbacks_of(row)


def test_no_fallback_after_an_order_placed_meanwhile(now):
    viber, _ = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)
    OrderFactory(customer=viber.customer, placed_at=now - HOUR / 2)

    assert fallbacks_tick(now=now) == 0
    assert not fallbacks_of(row)


def test_an_unsent_row_late_by_x_is_replaced_by_its_fallback(now):
    telegram, whatsapp = chats("telegram", "whatsapp")
    campaign = campaign_with(fallback_not_delivered_after=HOUR)
    row = DeliveryFactory(
        campaign=campaign, subscription=telegram, state="deferred", due_at=now - 2 * HOUR
    )

    assert fallbacks_tick(now=now) == 1

    row.refresh_from_db()
    assert (row.state, row.reason) == ("skipped", "replaced by fallback on whatsapp")
    [fallback] = fallbacks_of(row)
    assert fallback.subscription == whatsapp
    assert fallback.reason == "fallback after not delivered on telegram"
    assert not fallback.repeats_sent  # nothing went: the cap counts the fallback


def test_a_row_a_dispatcher_holds_is_left_for_the_next_tick(now):
    telegram, _ = chats("telegram", "whatsapp")
    campaign = campaign_with(fallback_not_delivered_after=HOUR)
    row = DeliveryFactory(
        campaign=campaign, subscription=telegram, state="queued", due_at=now - 2 * HOUR
    )

    assert fallbacks_tick(now=now) == 0
    row.refresh_from_db()
    assert (row.state, row.fallback_checked) == ("queued", False)


def test_sent_on_a_platform_without_delivery_receipts_counts_as_delivered(now):
    telegram, _ = chats("telegram", "whatsapp")
    campaign = campaign_with(fallback_not_delivered_after=HOUR)
    row = sent_row(campaign, telegram, sent_ago=2 * HOUR)

    assert fallbacks_tick(now=now) == 0
    assert not fallbacks_of(row)


def test_sent_without_a_delivery_receipt_on_a_platform_that_sends_them(now):
    viber, whatsapp = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_delivered_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR)

    assert fallbacks_tick(now=now) == 1
    [fallback] = fallbacks_of(row)
    assert (fallback.subscription, fallback.reason) == (
        whatsapp,
        "fallback after not delivered on viber",
    )


def test_where_the_platform_has_no_reads_not_engaged_counts(now):
    quiet, _ = chats("telegram", "whatsapp")
    replied, _ = chats("telegram", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    silent = sent_row(campaign, quiet, sent_ago=2 * HOUR)
    answered = sent_row(campaign, replied, sent_ago=2 * HOUR)
    Subscription.objects.filter(pk=replied.pk).update(last_inbound_at=now - HOUR)

    assert fallbacks_tick(now=now) == 1
    [fallback] = fallbacks_of(silent)
    assert fallback.reason == "fallback after not engaged on telegram"
    assert not fallbacks_of(answered)


def test_skips_on_purpose_never_fall_back_a_closed_window_does(now):
    customer_a, customer_b = CustomerFactory(), CustomerFactory()
    capped, _ = chats("whatsapp", "viber", customer=customer_a)
    closed, viber = chats("whatsapp", "viber", customer=customer_b)
    campaign = campaign_with(
        fallback_not_delivered_after=HOUR, fallback_channels=["whatsapp", "viber"]
    )
    due = now - 2 * HOUR
    a = DeliveryFactory(
        campaign=campaign, subscription=capped, state="skipped", reason="frequency cap", due_at=due
    )
    b = DeliveryFactory(
        campaign=campaign,
        subscription=closed,
        state="skipped",
        reason="whatsapp window closed, no template",
        due_at=due,
    )

    assert fallbacks_tick(now=now) == 1
    assert not fallbacks_of(a)
    [fallback] = fallbacks_of(b)
    assert (fallback.subscription, fallback.reason) == (
        viber,
        "fallback after window closed on whatsapp",
    )


def test_a_fallback_falls_back_along_the_list_never_to_a_channel_tried(now):
    telegram, whatsapp, viber = chats("telegram", "whatsapp", "viber")
    campaign = campaign_with(
        fallback_not_delivered_after=HOUR, fallback_channels=["whatsapp", "telegram", "viber"]
    )
    row = DeliveryFactory(campaign=campaign, subscription=telegram, state="failed", due_at=now)

    fallbacks_tick(now=now + 2 * HOUR)
    [first] = fallbacks_of(row)
    assert first.subscription == whatsapp  # the list's first untried channel
    Delivery.objects.filter(pk=first.pk).update(state="failed")
    fallbacks_tick(now=now + 4 * HOUR)
    [second] = fallbacks_of(first)
    assert second.subscription == viber  # telegram was tried: the original
    assert second.reason == "fallback after failed on whatsapp"
    Delivery.objects.filter(pk=second.pk).update(state="failed")
    assert fallbacks_tick(now=now + 6 * HOUR) == 0  # every channel tried


def test_next_kinds_are_the_untried_ones_in_the_campaigns_order():
    campaign = campaign_with(fallback_channels=["whatsapp", "email", "sms"])
    assert next_kinds(campaign, ["telegram"])[:1] == ["whatsapp"]
    assert "whatsapp" not in next_kinds(campaign, ["telegram", "whatsapp"])
    campaign.fallback_channels = ["whatsapp", "viber", "telegram"]
    assert next_kinds(campaign, ["telegram", "whatsapp"]) == ["viber"]
    campaign.fallback_channels = ["no-such-kind", "viber"]
    assert next_kinds(campaign, ["telegram"]) == ["viber"]


def test_no_channel_to_fall_back_to_is_decided_once(now):
    [viber] = chats("viber")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)

    assert fallbacks_tick(now=now) == 0
    row.refresh_from_db()
    assert row.fallback_checked


def test_a_customer_already_getting_it_there_gets_no_second_copy(now):
    viber, whatsapp = chats("viber", "whatsapp")
    campaign = campaign_with(fallback_not_read_after=HOUR)
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)
    sent_row(campaign, whatsapp, sent_ago=2 * HOUR, read_at=now)

    assert fallbacks_tick(now=now) == 0
    assert not fallbacks_of(row)


def test_paused_campaigns_and_campaigns_without_rules_are_left_alone(now):
    viber, _ = chats("viber", "whatsapp")
    paused = campaign_with(fallback_not_read_after=HOUR, status="paused")
    plain = CampaignFactory(fallback_channels=["whatsapp"])
    sent_row(paused, viber, sent_ago=2 * HOUR, delivered_at=now)
    sent_row(plain, viber, sent_ago=2 * HOUR, delivered_at=now)

    assert fallbacks_tick(now=now) == 0


@pytest.mark.django_db(transaction=True)
def test_the_fallback_goes_out_once_past_the_cap_and_the_shop_is_told(fake_platform, settings, now):
    """Its campaign counted once: a cap of one message lets the fallback of a sent one go."""
    settings.MARKETING_CAP_COUNT = 1
    customer = CustomerFactory()
    viber = SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="viber", api_base=fake_platform.url),
        order=None,
    )
    whatsapp = SubscriptionFactory(
        customer=customer,
        account=ChannelAccountFactory(kind="whatsapp", api_base=fake_platform.url),
        order=None,
        platform_user_id="15550001111",
        last_inbound_at=now,  # the 24-hour window is open
    )
    campaign = campaign_with(fallback_not_read_after=HOUR, content={"default": {"text": "Menu"}})
    row = sent_row(campaign, viber, sent_ago=2 * HOUR, delivered_at=now)
    other = CampaignFactory(respect_quiet_hours=False)
    capped = DeliveryFactory(campaign=other, subscription=whatsapp)

    assert fallbacks_tick(now=now) == 1
    run_account(whatsapp.account_id)

    [fallback] = fallbacks_of(row)
    assert fallback.state == "sent"
    assert fallback.reason == "fallback after not read on viber"  # kept once sent
    capped.refresh_from_db()
    assert (capped.state, capped.reason) == ("skipped", "frequency cap")
    assert [r.recipient for r in fake_platform.requests_for("whatsapp")] == ["15550001111"]
    [event] = ShopEvent.objects.filter(type="fallback.sent")
    assert event.data["delivery_id"] == fallback.pk
    assert event.data["original_channel"] == "viber"
    assert event.data["channel"] == "whatsapp"
    assert event.data["customer_external_id"] == customer.external_id
    assert not ConsentEvent.objects.filter(kind="opt_out").exists()
