"""The stats pages in admin: a campaign's and the programme's, charts drawn, tables as CSV,
open to marketers."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Attribution
from tests.campaigns.test_admin_lifecycle import marketer  # noqa: F401 - fixture
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = CampaignFactory(kind="one_off", status="finished", holdout_percent=10)
    viber, telegram = ChannelAccountFactory(kind="viber"), ChannelAccountFactory(kind="telegram")
    now = timezone.now()
    for n, account in enumerate([viber, viber, viber, telegram]):
        delivery = DeliveryFactory(
            campaign=campaign, subscription=SubscriptionFactory(account=account),
            state="sent", sent_at=now - dt.timedelta(hours=2), due_at=now - dt.timedelta(hours=2),
            delivered_at=now - dt.timedelta(hours=2),
            read_at=now - dt.timedelta(hours=2) + dt.timedelta(minutes=3 * (n + 1))
            if account == viber and n < 2 else None,
        )  # fmt: skip
        if n == 0:
            order = OrderFactory(total=Decimal("12.00"), currency="EUR")
            Attribution.objects.create(order=order, delivery=delivery, via="read")
    return campaign


def test_a_marketer_reads_a_campaigns_figures_and_charts(marketer, campaign):  # noqa: F811
    page = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/stats/")

    assert page.status_code == 200
    text = page.content.decode()
    # open rate per channel, with Telegram's missing receipts said, not hidden
    assert "<title>viber: 66.7%</title>" in text  # 2 read of 3 delivered
    assert "telegram, sms report no reads" in text and "never called an open" in text
    # per-day columns, time-to-open and scores drawn as SVG marks
    assert len(re.findall(r'class="cb-mark"', text)) >= 5
    assert "<title>< 5 min: 1</title>" in text.replace("&lt;", "<")
    assert "Not measurable: the campaign has no holdout" in text  # no customer held out yet
    assert "EUR" in text and "12.00" in text


def test_every_table_downloads_as_csv(marketer, campaign):  # noqa: F811
    answer = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/stats/?csv=channels")

    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0][:4] == ["channel", "sent", "delivered", "read"]
    assert [row[:4] for row in rows[1:]] == [["telegram", "1", "", ""], ["viber", "3", "3", "2"]]
    for table in ("days", "revenue", "scores"):
        answer = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/stats/?csv={table}")
        assert answer["Content-Type"].startswith("text/csv"), table


def test_the_programme_dashboard_adds_up_every_campaign(marketer, campaign):  # noqa: F811
    other = CampaignFactory(kind="one_off", status="finished")
    DeliveryFactory(campaign=other, state="sent", sent_at=timezone.now(), due_at=timezone.now())

    page = marketer.get("/admin/campaigns/campaign/programme/?days=7")

    assert page.status_code == 200
    text = page.content.decode()
    assert "(2 campaigns)" in text
    assert 'class="cb-chart"' in text
    rows = list(csv.reader(io.StringIO(
        marketer.get("/admin/campaigns/campaign/programme/?days=7&csv=days").content.decode()
    )))  # fmt: skip
    assert sum(int(row[1]) for row in rows[1:]) == 5


def test_the_campaign_page_links_to_both(admin_client, campaign):
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert f"/admin/campaigns/campaign/{campaign.pk}/stats/" in page.content.decode()
    assert "/admin/campaigns/campaign/programme/" in page.content.decode()
