"""The weekly menu in a real worker process whose clock the test moves through one Thursday.

Real PostgreSQL, real Redis, a Celery worker and the fake platform server over HTTP. The
worker's clock is Django's clock shifted by an offset the test sets (tests/timetravel.py); no
beat runs, the test plays it: one materialize tick each time it moves the clock, and dispatch
ticks every half second.
"""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from campaigns.models import Delivery
from campaigns.tasks import materialize_tick
from tests.campaigns.test_engine_integration import beat_until, sends_to
from tests.factories import CampaignFactory, CustomerFactory, OrderFactory, SubscriptionFactory
from tests.timetravel import TimeMachine
from tests.workers import celery_worker

THURSDAY = dt.date(2027, 1, 14)  # ISO week 2 of 2027
# In the order 10:00 local comes round: 01:00, 07:00 and 15:00 UTC.
ZONES = ("Asia/Tokyo", "Europe/Moscow", "America/New_York")
LEAD = dt.timedelta(seconds=4)  # the clock is set this long before 10:00 local
SHORTLY = dt.timedelta(seconds=10)  # a few dispatch ticks after 10:00
MENU = {
    "default": {
        "text": "Next week's menu is out, {name}!",
        "buttons": [{"text": "Order next week", "url": "https://shop.test/next-week"}],
    }
}


def ten_local(zone: str) -> dt.datetime:
    return dt.datetime.combine(THURSDAY, dt.time(10), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def recipients(fake_platform) -> Counter[str]:
    return Counter(r.recipient for r in fake_platform.requests_for("telegram"))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.alone  # "shortly after 10:00" is seconds of a worker's time: not on a shared CPU
@pytest.mark.django_db(transaction=True)
def test_the_weekly_menu_goes_out_at_10_local_in_each_customers_time_zone(
    account_on, fake_platform, tmp_path
):
    # given a weekly menu every Thursday at 10:00 local, one Telegram subscriber in each of
    # three zones, and a fourth in Moscow who ordered the day before (so ordered next week)
    account = account_on("telegram")
    campaign = CampaignFactory(
        kind="recurring",
        weekday=THURSDAY.weekday(),
        local_time=dt.time(10),
        content=MENU,
        trigger_conditions={"exclude_ordered_since_days": 3},
    )
    chats = {}
    for zone in ZONES:
        customer = CustomerFactory(time_zone=zone, name=zone.split("/")[1])
        chats[zone] = SubscriptionFactory(customer=customer, account=account, order=None)
    ordered = SubscriptionFactory(
        customer=CustomerFactory(time_zone="Europe/Moscow"), account=account, order=None
    )
    yesterday = ten_local("Europe/Moscow") - dt.timedelta(days=1)
    OrderFactory(customer=ordered.customer, placed_at=yesterday)
    machine = TimeMachine(tmp_path / "clock")
    # Every materialize tick re-reads weekly audiences (by default one in 60 does, and beat
    # sends one every 10 s for the hours before): the test sends one per move of the clock.
    refresh = str(int(settings.MATERIALIZE_TICK_SECONDS))

    with celery_worker(**machine.env(), RECURRING_REFRESH_SECONDS=refresh):
        for n, zone in enumerate(ZONES):
            # when the worker's clock is moved to a few seconds before 10:00 in that zone
            ten = ten_local(zone)
            machine.travel(ten - LEAD)
            materialize_tick.delay()
            [menu] = beat_until(
                lambda zone=zone: sends_to(fake_platform, chats[zone].platform_user_id)
            )

            # then that zone's customer gets the menu shortly after 10:00 local, not before
            assert ten <= machine.at(menu.received_at) <= ten + SHORTLY
            assert menu.json["text"] == f"Next week's menu is out, {zone.split('/')[1]}!"
            [[button]] = menu.json["reply_markup"]["inline_keyboard"]
            assert button["text"] == "Order next week"
            assert button["url"].startswith(f"{settings.PUBLIC_BASE_URL}/r/")  # tracked
            # and nobody else: the later zones' 10:00 has not come yet, the earlier ones' menu
            # went out at theirs and does not go again
            assert recipients(fake_platform) == Counter(
                chats[z].platform_user_id for z in ZONES[: n + 1]
            )

    # then the ledger holds one row per customer for this week, each sent once at its 10:00
    rows = {d.subscription_id: d for d in Delivery.objects.filter(campaign=campaign)}
    assert len(rows) == 4
    for zone, subscription in chats.items():
        row = rows[subscription.pk]
        assert (row.occurrence, row.due_at, row.state) == ("2027-W02", ten_local(zone), "sent")
        assert row.attempts == 1
        assert ten_local(zone) <= row.sent_at <= ten_local(zone) + SHORTLY
    # and the customer who had already ordered is left out, with the reason recorded
    left_out = rows[ordered.pk]
    assert (left_out.state, left_out.reason) == ("skipped", "already_ordered")
    assert ordered.platform_user_id not in recipients(fake_platform)
