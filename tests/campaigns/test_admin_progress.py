"""Progress while it runs: the list's bars and next occurrence, the page's live counts."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import CampaignFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def running():
    campaign = CampaignFactory(name="Black Friday", status="running", send_at=timezone.now())
    for state in ("sent", "sent", "deferred", "failed", "pending"):
        DeliveryFactory(campaign=campaign, state=state)
    return campaign


def test_the_list_shows_a_progress_bar_with_counts(admin_client, running):
    page = admin_client.get("/admin/campaigns/campaign/").text
    assert 'aria-valuenow="60"' in page  # sent 2 + failed 1 of 5 are done
    assert 'sent <span data-count="sent">2</span>/<span data-count="total">5</span>' in page
    assert 'deferred <span data-count="deferred">1</span>' in page


def test_the_progress_endpoint_answers_live_counts(admin_client, running):
    answer = admin_client.get(f"/admin/campaigns/campaign/{running.pk}/progress/")
    data = answer.json()
    assert {k: data[k] for k in ("total", "sent", "deferred", "failed", "percent")} == {
        "total": 5, "sent": 2, "deferred": 1, "failed": 1, "percent": 60,
    }  # fmt: skip
    assert data["status"] == "running"


def test_the_next_occurrence_of_a_weekly_campaign(admin_client):
    CampaignFactory(
        name="Weekly", kind="recurring", status="running", weekday=0, local_time=dt.time(10)
    )
    page = admin_client.get("/admin/campaigns/campaign/").text
    monday = timezone.now().date() + dt.timedelta(days=(0 - timezone.now().weekday()) % 7)
    assert f"{monday:%Y-%m-%d}" in page or f"{monday + dt.timedelta(days=7):%Y-%m-%d}" in page


def test_the_campaign_page_polls_and_links_to_the_stats_pages(admin_client, running):
    page = admin_client.get(f"/admin/campaigns/campaign/{running.pk}/change/").text
    assert f'data-live="/admin/campaigns/campaign/{running.pk}/progress/"' in page
    assert f"/admin/campaigns/campaign/{running.pk}/stats/" in page
    assert "campaigns/progress.js" in page
