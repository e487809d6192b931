"""Reach before launch equals, per channel and outcome, what the dispatcher then records:
every policy outcome present, end to end through the dispatcher and the fake platform."""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.dispatch import run_account
from campaigns.models import Campaign, Delivery
from campaigns.policies import held_out
from campaigns.reach import (
    CAPPED,
    DEFERRED,
    HELD_OUT,
    NO_CONSENT,
    SEND,
    WINDOW,
    campaign_reach,
)
from campaigns.services import campaign_launch
from tests.factories import CampaignFactory, CustomerFactory, DeliveryFactory, SubscriptionFactory
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
WAITING = ("pending", "claimed", "queued", "sending")


def zone_at(hours: range) -> str:
    """A fixed-offset zone whose local hour is now within `hours` (there always is one)."""
    now = timezone.now()
    for offset in range(-12, 15):
        name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
        if now.astimezone(ZoneInfo(name)).hour in hours:
            return name
    raise AssertionError("no zone")


DAY, NIGHT = zone_at(range(11, 18)), zone_at(range(1, 6))


def outcome(state: str, reason: str) -> str:
    if state == "sent":
        return SEND
    if state == "deferred":
        return DEFERRED
    if reason == "holdout":
        return HELD_OUT
    if reason == "frequency cap":
        return CAPPED
    if "not consented" in reason:
        return NO_CONSENT
    if "window closed" in reason:
        return WINDOW
    return f"{state}: {reason}"


def customer_on(account, *, zone=DAY, inbound=None, **subscription):
    customer = CustomerFactory(time_zone=zone)
    return SubscriptionFactory(
        account=account, customer=customer, order=None, last_inbound_at=inbound, **subscription
    )


def test_reach_equals_what_the_dispatcher_records_per_channel_and_reason(account_on):
    now = timezone.now()
    telegram, whatsapp = account_on("telegram"), account_on("whatsapp")
    vk, messenger = account_on("vk"), account_on("messenger")
    campaign = CampaignFactory(
        status="draft", kind="one_off", category="marketing", topic="menu", send_at=now,
        holdout_percent=50, content={"default": {"text": "Menu {name}"}},
    )  # fmt: skip
    campaign.accounts.set([telegram, whatsapp, vk, messenger])
    # Telegram: sent and held out (both present), no consent, quiet hours, capped.
    kept = Counter()
    while not (kept[True] and kept[False]):
        sub = customer_on(telegram)
        kept[held_out(campaign.pk, sub.pk, campaign.holdout_percent)] += 1
    customer_on(telegram, wants_menu=False)
    customer_on(telegram, zone=NIGHT)
    capped = customer_on(telegram)
    for _ in range(2):
        DeliveryFactory(
            campaign=CampaignFactory(category="marketing"), subscription=capped,
            state="sent", sent_at=now - dt.timedelta(days=1),
        )  # fmt: skip
    # The windows: WhatsApp closed without a template and open; VK outside (sent with its
    # intent); Messenger closed.
    customer_on(whatsapp)
    customer_on(whatsapp, inbound=now - dt.timedelta(hours=1))
    customer_on(vk)
    customer_on(messenger)

    reach = campaign_reach(campaign)
    campaign_launch(campaign_id=campaign.pk)
    accounts = (telegram, whatsapp, vk, messenger)

    def settled() -> bool:
        for account in accounts:
            run_account(account.pk)
        return not Delivery.objects.filter(campaign=campaign, state__in=WAITING).exists()

    wait_for(settled, timeout=60)

    expected = {
        (c["kind"], o): c[o]
        for c in reach["channels"]
        for o in (SEND, DEFERRED, NO_CONSENT, WINDOW, CAPPED, HELD_OUT)
        if c[o]
    }
    happened = Counter(
        (kind, outcome(state, reason))
        for kind, state, reason in Delivery.objects.filter(campaign=campaign).values_list(
            "account__kind", "state", "reason"
        )
    )
    assert expected == dict(happened)
    assert {o for _, o in expected} == {SEND, DEFERRED, NO_CONSENT, WINDOW, CAPPED, HELD_OUT}
    vk_reach = next(c for c in reach["channels"] if c["kind"] == "vk")
    # VK outside its window: sent with its intent (unless this one customer is held out).
    assert vk_reach["outside_window"] == vk_reach[SEND] == 1 - vk_reach[HELD_OUT]
    deferred = next(c for c in reach["channels"] if c["kind"] == "telegram")["deferred_until"]
    row = Delivery.objects.get(campaign=campaign, state="deferred")
    assert dt.datetime.fromisoformat(deferred["first"]) == row.due_at


def test_cost_is_the_billed_messages_times_the_accounts_price(account_on):
    whatsapp = account_on("whatsapp", price_per_message="0.05", price_currency="EUR")
    campaign = CampaignFactory(status="draft", category="service", whatsapp_template="menu_v1")
    campaign.accounts.set([whatsapp])
    for _ in range(3):
        customer_on(whatsapp)  # outside the window: the billed template goes
    [channel] = campaign_reach(campaign)["channels"]
    assert (channel[SEND], channel["outside_window"], channel["billed"]) == (3, 3, 3)
    assert (channel["cost"], channel["currency"]) == ("0.15000", "EUR")


def test_a_campaign_without_audience_reaches_nobody():
    campaign = CampaignFactory(status="draft", languages=["xx"])
    assert campaign_reach(campaign)["totals"]["audience"] == 0
    assert Campaign.objects.filter(pk=campaign.pk).exists()
