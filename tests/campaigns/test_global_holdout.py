"""The global holdout: a stable, salted share of customers that never gets marketing, enforced
by the send-time policies and the reach panel, and the programme's uplift measured against it."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.holdout import (
    GLOBAL_HOLDOUT,
    in_global_holdout,
    in_global_holdout_sql,
    programme_uplift,
)
from campaigns.policies import SEND, SKIP, evaluate
from campaigns.reach import HELD_OUT, campaign_reach
from campaigns.uplift import holdout_needed
from subscriptions.models import Customer
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def half(settings):
    settings.GLOBAL_HOLDOUT_PERCENT = 50.0
    settings.GLOBAL_HOLDOUT_SALT = "test-salt"


def customer(held: bool, **fields) -> Customer:
    """A customer on the chosen side of the global holdout (ids are sequential: a few tries)."""
    while True:
        made = CustomerFactory(**fields)
        if in_global_holdout(made.pk) == held:
            return made
        made.delete()


def test_it_picks_the_same_customers_in_python_and_in_sql(settings):
    settings.GLOBAL_HOLDOUT_PERCENT = 10.0
    sql, params = in_global_holdout_sql("g")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT g FROM generate_series(1, 5000) g WHERE {sql}", params)  # noqa: S608
        in_sql = {row[0] for row in cursor.fetchall()}

    in_python = {i for i in range(1, 5001) if in_global_holdout(i)}

    assert in_sql == in_python
    assert 400 <= len(in_python) <= 600  # about 10%


def test_it_is_stable_for_a_salt_and_reshuffled_by_another(settings):
    settings.GLOBAL_HOLDOUT_PERCENT = 20.0
    first = {i for i in range(1, 1001) if in_global_holdout(i)}
    assert first == {i for i in range(1, 1001) if in_global_holdout(i)}

    settings.GLOBAL_HOLDOUT_SALT = "another"

    assert first != {i for i in range(1, 1001) if in_global_holdout(i)}


def test_it_holds_nobody_out_by_default():
    assert not any(in_global_holdout(i) for i in range(1, 1001))
    assert in_global_holdout_sql("c") == ("FALSE", [])


@pytest.mark.parametrize(
    ("held", "category", "expected"),
    [
        (True, "marketing", (SKIP, GLOBAL_HOLDOUT)),
        (False, "marketing", (SEND, "")),
        (True, "service", (SEND, "")),  # service messages are not marketing
    ],
)
def test_the_dispatcher_never_sends_marketing_to_the_global_holdout(half, held, category, expected):
    # given a customer inside (or outside) the global holdout, daytime, no campaign holdout
    subscription = SubscriptionFactory(
        customer=customer(held), account=ChannelAccountFactory(kind="telegram"), order=None
    )
    delivery = DeliveryFactory(
        campaign=CampaignFactory(category=category, holdout_percent=0), subscription=subscription
    )

    [decision] = evaluate([delivery], now=timezone.now().replace(hour=12))

    assert (decision.action, decision.reason) == expected


def test_reach_counts_the_global_holdout_as_held_out(half):
    telegram = ChannelAccountFactory(kind="telegram")
    campaign = CampaignFactory(
        status="draft", kind="one_off", category="marketing", topic="menu",
        send_at=timezone.now(), holdout_percent=0, respect_quiet_hours=False,
    )  # fmt: skip
    campaign.accounts.set([telegram])
    for held in (True, True, False):
        SubscriptionFactory(account=telegram, customer=customer(held), order=None)

    [channel] = campaign_reach(campaign)["channels"]

    assert (channel[HELD_OUT], channel["send"]) == (2, 1)


def test_programme_uplift_compares_subscribers_outside_and_inside_the_global_holdout(half):
    now = timezone.now()
    since = now - dt.timedelta(days=30)
    telegram = ChannelAccountFactory(kind="telegram")

    def subscribed(held: bool, *, at: dt.datetime = now - dt.timedelta(days=40), **fields):
        made = customer(held, **fields)
        SubscriptionFactory(account=telegram, customer=made, order=None, subscribed_at=at)
        return made

    def ordered(who: Customer, days_ago: float, **fields) -> None:
        OrderFactory(customer=who, placed_at=now - dt.timedelta(days=days_ago), **fields)

    # outside: two ordered in the period, one only before it, one never
    ordered(subscribed(False), 3)
    ordered(subscribed(False), 29)
    ordered(subscribed(False), 35)
    subscribed(False)
    # inside: one ordered, one cancelled its only order, one never
    ordered(subscribed(True), 10)
    ordered(subscribed(True), 10, status="cancelled")
    subscribed(True)
    # not counted: subscribed during the period; erased
    ordered(subscribed(False, at=now - dt.timedelta(days=5)), 1)
    ordered(subscribed(True, erased_at=now), 1)

    figures = programme_uplift(since=since, now=now)

    assert figures["messaged"] == {"members": 4, "repeat_buyers": 2, "repeat_rate": 50.0}
    assert figures["holdout"] == {"members": 3, "repeat_buyers": 1, "repeat_rate": 33.33}
    assert figures["percent"] == 50.0
    assert figures["uplift_points"] == 16.7
    needed = holdout_needed(1 / 3, 4 / 3) - 3
    assert figures["verdict"] == (
        f"not yet measurable: about {needed:,} more customers in the holdout are needed "
        "for a 5-point uplift"
    )


def test_the_programme_dashboard_shows_the_global_holdout(half, admin_client):
    telegram = ChannelAccountFactory(kind="telegram")
    for held in (True, False):
        SubscriptionFactory(
            account=telegram, customer=customer(held), order=None,
            subscribed_at=timezone.now() - dt.timedelta(days=60),
        )  # fmt: skip

    page = admin_client.get("/admin/campaigns/campaign/programme/?days=30").content.decode()

    assert "The whole programme vs the global holdout" in page
    assert "Global holdout (50.0%)" in page
    assert "Not yet measurable: about " in page


def test_the_dashboard_says_how_to_start_a_global_holdout(admin_client):
    page = admin_client.get("/admin/campaigns/campaign/programme/").content.decode()

    assert "No global holdout: set <code>GLOBAL_HOLDOUT_PERCENT</code>" in page


def test_an_empty_global_holdout_says_so(half):
    figures = programme_uplift(since=timezone.now() - dt.timedelta(days=30), now=timezone.now())

    assert figures["verdict"] == "not measurable: nobody is in the global holdout yet"


def test_the_campaign_page_counts_a_global_holdout_skip_as_held_out():
    from campaigns.admin import _reach_outcome

    assert _reach_outcome("skipped", GLOBAL_HOLDOUT) == HELD_OUT
