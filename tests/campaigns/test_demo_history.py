"""manage.py demo_history: a month on an empty database that fills every figure."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.materialize import recurring_materialize
from campaigns.models import Campaign, Delivery
from campaigns.schedule import next_weekly
from campaigns.stats import campaign_stats
from subscriptions.models import ConsentEvent, Customer, LinkVisit, Subscription

pytestmark = pytest.mark.django_db


def test_it_fills_a_month_that_every_figure_reads():
    out = StringIO()
    call_command("demo_history", "--customers", "400", stdout=out)

    assert "deliveries" in out.getvalue()
    assert Customer.objects.filter(is_anonymous=False).count() == 400
    assert set(Customer.objects.values_list("locale", flat=True)) >= {"en", "ru", "uk", "de"}
    assert Customer.objects.values("time_zone").distinct().count() >= 4
    assert Subscription.objects.values("source").distinct().count() >= 3
    assert LinkVisit.objects.values("device").distinct().count() >= 2
    # every chat has its opt-in; every one that left, its opt-out
    assert ConsentEvent.objects.filter(kind="opt_in").count() == Subscription.objects.count()
    left = Subscription.objects.filter(status="unsubscribed")
    assert ConsentEvent.objects.filter(kind="opt_out").count() == left.count() > 0
    menu = Campaign.objects.get(name="Weekly menu")
    survey = Campaign.objects.get(name="How was your order?")
    assert Delivery.objects.filter(campaign=menu, reason="holdout").exists()
    stats = campaign_stats(menu)
    assert sum(day["sent"] for day in stats["per_day"]) > 0
    assert sum(day["read"] for day in stats["per_day"]) > 0
    assert stats["attributed_orders"] > 0
    assert stats["holdout"]["holdout"]["members"] > 0
    assert stats["holdout"]["holdout"]["repeat_buyers"] > 0  # the baseline is not empty
    assert set(stats["channels"]) >= {"telegram", "viber", "vk"}
    assert stats["channels"]["vk"]["read"] > 0  # VK reports reads
    assert sum(box["unsubscribed"] for box in stats["channels"].values()) > 0
    assert sum(campaign_stats(survey)["survey"]["scores"].values()) > 0


def test_it_refuses_a_database_with_customers():
    Customer.objects.create(external_id="real")
    with pytest.raises(CommandError, match="empty database"):
        call_command("demo_history", stdout=StringIO())


def test_the_scheduler_finds_nothing_to_send_in_the_demo_month():
    call_command("demo_history", "--customers", "100", stdout=StringIO())
    menu = Campaign.objects.get(name="Weekly menu")
    before = Delivery.objects.count()

    # when next week's menu comes due (Thursday 06:00 UTC: 10:00 in Kyiv, Berlin, Moscow is near)
    thursday = next_weekly(weekday=3, local_time=dt.time(6), zone=dt.UTC, now=timezone.now(),
                           late=dt.timedelta(0)).due_at  # fmt: skip
    written = recurring_materialize(campaign=menu, now=thursday)

    # then the demo accounts are disabled: no new rows, and none of the demo rows is left to send
    assert (written, Delivery.objects.count()) == (0, before)
    assert not Delivery.objects.exclude(state__in=Delivery.FINAL_STATES).exists()
