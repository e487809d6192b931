"""manage.py demo_history: a month on an empty database that fills every figure."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign, Delivery
from campaigns.stats import campaign_stats
from subscriptions.models import Customer, LinkVisit, Subscription

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
