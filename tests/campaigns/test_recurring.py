import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.already_ordered import ordered_since
from campaigns.materialize import recurring_materialize
from campaigns.models import Campaign, Delivery
from campaigns.schedule import next_weekly
from campaigns.services import materialize_tick
from tests.factories import CampaignFactory, CustomerFactory, OrderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
ZONES = ("Europe/Moscow", "America/New_York", "Asia/Tokyo")
WEDNESDAY_EVENING = dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)
THURSDAY = 3


def weekly_menu(**fields) -> Campaign:
    return CampaignFactory(kind="recurring", weekday=THURSDAY, local_time=dt.time(10, 0), **fields)


def subscriber_in(zone: str):
    return SubscriptionFactory(customer=CustomerFactory(time_zone=zone), order=None)


def rows(campaign: Campaign) -> dict[str, Delivery]:
    deliveries = Delivery.objects.filter(campaign=campaign).select_related("subscription__customer")
    return {d.subscription.customer.time_zone: d for d in deliveries}


def test_it_makes_each_customer_due_at_10_local_in_their_own_zone(settings):
    # given subscribers in three zones and a lookahead covering the whole coming Thursday
    settings.RECURRING_LOOKAHEAD_HOURS = 24
    campaign = weekly_menu()
    for zone in ZONES:
        subscriber_in(zone)
    # when
    created = recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING)
    # then: Thursday 26 Nov 2026, 10:00 wherever the customer lives, ISO week 48
    assert created == 3
    by_zone = rows(campaign)
    for zone in ZONES:
        local = by_zone[zone].due_at.astimezone(ZoneInfo(zone))
        assert (local.date(), local.time()) == (dt.date(2026, 11, 26), dt.time(10, 0))
        assert by_zone[zone].occurrence == "2026-W48"
    assert by_zone["Asia/Tokyo"].due_at == dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
    assert by_zone["America/New_York"].due_at == dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)


def test_it_writes_a_zone_only_once_its_local_time_is_within_the_lookahead(settings):
    # given the default few hours of lookahead
    settings.RECURRING_LOOKAHEAD_HOURS = 6
    campaign = weekly_menu()
    for zone in ZONES:
        subscriber_in(zone)
    # when the clock moves through Thursday (time travel: `now` is passed in)
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING)
    first = set(rows(campaign))
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING + dt.timedelta(hours=6))
    second = set(rows(campaign))
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING + dt.timedelta(hours=14))
    # then each zone's row appears a few hours before its own 10:00, and only once
    assert first == {"Asia/Tokyo"}
    assert second == {"Asia/Tokyo", "Europe/Moscow"}
    assert set(rows(campaign)) == set(ZONES)
    assert Delivery.objects.filter(campaign=campaign).count() == 3


def test_the_next_occurrence_after_this_weeks_is_next_weeks():
    tokyo = ZoneInfo("Asia/Tokyo")
    late = dt.timedelta(minutes=60)
    after = dt.datetime(2026, 11, 26, 2, 30, tzinfo=dt.UTC)  # 11:30 in Tokyo, 90 min late
    occurrence = next_weekly(
        weekday=THURSDAY, local_time=dt.time(10), zone=tokyo, now=after, late=late
    )
    assert occurrence.key == "2026-W49"
    assert occurrence.due_at == dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)


def test_an_occurrence_missed_by_a_short_outage_still_goes_out():
    tokyo = ZoneInfo("Asia/Tokyo")
    slightly_late = dt.datetime(2026, 11, 26, 1, 20, tzinfo=dt.UTC)  # 10:20 in Tokyo
    occurrence = next_weekly(
        weekday=THURSDAY,
        local_time=dt.time(10),
        zone=tokyo,
        now=slightly_late,
        late=dt.timedelta(minutes=60),
    )
    assert occurrence.key == "2026-W48"


def test_it_skips_customers_who_already_ordered_for_the_coming_week(settings):
    # given the rule "an order in the 3 days before the menu means they already ordered"
    settings.RECURRING_LOOKAHEAD_HOURS = 24
    campaign = weekly_menu(trigger_conditions={"exclude_ordered_since_days": 3})
    ordered, earlier, late_order = (subscriber_in("Europe/Moscow") for _ in range(3))
    due = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
    OrderFactory(customer=ordered.customer, placed_at=due - dt.timedelta(days=1))
    OrderFactory(customer=earlier.customer, placed_at=due - dt.timedelta(days=5))
    # when
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING)
    # then the recent buyer is recorded as skipped, the others will get the menu
    states = {
        d.subscription_id: (d.state, d.reason) for d in Delivery.objects.filter(campaign=campaign)
    }
    assert states[ordered.pk] == ("skipped", "already_ordered")
    assert states[earlier.pk] == ("pending", "")
    assert states[late_order.pk] == ("pending", "")
    # and an order placed after the first pass counts at the next one
    OrderFactory(customer=late_order.customer, placed_at=WEDNESDAY_EVENING)
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING + dt.timedelta(minutes=10))
    assert Delivery.objects.get(subscription=late_order).reason == "already_ordered"


def test_by_default_it_skips_customers_who_ordered_since_the_previous_weeks_menu(settings):
    # given a weekly menu with no conditions (Thursday 26 Nov 2026, 10:00 in Moscow = 07:00 UTC;
    # the previous one was on 19 Nov at the same time)
    settings.RECURRING_LOOKAHEAD_HOURS = 24
    campaign = weekly_menu()
    previous = dt.datetime(2026, 11, 19, 7, 0, tzinfo=dt.UTC)
    since_last, before_last, cancelled, ordered_this_week = (
        subscriber_in("Europe/Moscow") for _ in range(4)
    )
    OrderFactory(customer=since_last.customer, placed_at=previous + dt.timedelta(minutes=5))
    OrderFactory(customer=before_last.customer, placed_at=previous - dt.timedelta(minutes=5))
    OrderFactory(customer=cancelled.customer, placed_at=previous + dt.timedelta(days=2),
                 status="cancelled")  # fmt: skip
    keep_sending = weekly_menu(trigger_conditions={"skip_already_ordered": False})
    OrderFactory(customer=ordered_this_week.customer, placed_at=WEDNESDAY_EVENING)
    # when
    recurring_materialize(campaign=campaign, now=WEDNESDAY_EVENING)
    recurring_materialize(campaign=keep_sending, now=WEDNESDAY_EVENING)
    # then only the order placed after last week's menu means "already ordered"
    states = {
        d.subscription_id: (d.state, d.reason) for d in Delivery.objects.filter(campaign=campaign)
    }
    assert states[since_last.pk] == ("skipped", "already_ordered")
    assert states[before_last.pk] == states[cancelled.pk] == ("pending", "")
    assert states[ordered_this_week.pk] == ("skipped", "already_ordered")
    # and a campaign that turned the rule off writes everyone's row pending
    assert set(Delivery.objects.filter(campaign=keep_sending).values_list("state", flat=True)) == {
        "pending"
    }


def test_the_previous_occurrence_is_last_weeks_local_time_across_a_dst_change():
    # given New York's menu on Thursday 5 Nov 2026, 10:00 EST (15:00 UTC); DST ended on 1 Nov
    campaign = weekly_menu()
    new_york = ZoneInfo("America/New_York")
    # when / then: the window opens at last Thursday's 10:00 EDT (14:00 UTC), not 7 x 24 h back
    since = ordered_since(campaign, "2026-W45", new_york)
    assert since == dt.datetime(2026, 10, 29, 14, 0, tzinfo=dt.UTC)
    # an explicit window in days counts back from this week's 10:00 local
    days = weekly_menu(trigger_conditions={"exclude_ordered_since_days": 2})
    assert ordered_since(days, "2026-W45", new_york) == dt.datetime(
        2026, 11, 3, 15, 0, tzinfo=dt.UTC
    )
    # no rule for other kinds, or for an occurrence that is no week
    assert ordered_since(CampaignFactory(kind="one_off"), "2026-W45", new_york) is None
    assert ordered_since(campaign, "once", new_york) is None


def test_the_tick_refreshes_running_weekly_campaigns_only_on_refresh_ticks(settings):
    settings.RECURRING_LOOKAHEAD_HOURS = 24
    campaign = weekly_menu()
    paused = weekly_menu(status="paused")
    subscriber_in("Asia/Tokyo")
    materialize_tick(now=WEDNESDAY_EVENING, refresh=False)
    assert not Delivery.objects.filter(campaign=campaign).exists()
    materialize_tick(now=WEDNESDAY_EVENING, refresh=True)
    assert Delivery.objects.filter(campaign=campaign).count() == 1
    assert not Delivery.objects.filter(campaign=paused).exists()
