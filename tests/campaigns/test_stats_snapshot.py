"""A campaign's figures kept by a worker: readers take a fresh snapshot, recompute a stale one,
and the beat task refreshes the campaigns still moving."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import StatsSnapshot
from campaigns.stats import campaign_stats
from campaigns.stats_snapshot import campaign_stats_snapshot
from campaigns.tasks import stats_snapshots
from tests.factories import CampaignFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_minutes(settings):
    settings.STATS_SNAPSHOT_MAX_AGE = 300


def test_it_serves_a_fresh_snapshot_and_recomputes_a_stale_one(five_minutes):
    campaign = CampaignFactory(status="finished")
    DeliveryFactory(campaign=campaign, state="sent", sent_at=timezone.now())
    first = campaign_stats_snapshot(campaign)
    DeliveryFactory(campaign=campaign, state="sent", sent_at=timezone.now())

    # a minute later: the snapshot, with when it was computed
    later = campaign_stats_snapshot(campaign, now=timezone.now() + dt.timedelta(minutes=1))
    assert later == first
    assert later["by_state"] == {"sent": 1}

    # six minutes later: computed again, and kept
    stale = campaign_stats_snapshot(campaign, now=timezone.now() + dt.timedelta(minutes=6))
    assert stale["by_state"] == {"sent": 2}
    assert {k: v for k, v in stale.items() if k != "computed_at"} == campaign_stats(campaign)
    assert StatsSnapshot.objects.get(campaign=campaign).figures["by_state"] == {"sent": 2}


def test_the_beat_task_refreshes_campaigns_still_moving(five_minutes):
    running = CampaignFactory(status="running")
    recent = CampaignFactory(status="finished")
    DeliveryFactory(campaign=recent, state="sent", sent_at=timezone.now() - dt.timedelta(days=2))
    old = CampaignFactory(status="finished")
    DeliveryFactory(campaign=old, state="sent", sent_at=timezone.now() - dt.timedelta(days=30))

    assert stats_snapshots() == 2

    kept = set(StatsSnapshot.objects.values_list("campaign_id", flat=True))
    assert kept == {running.pk, recent.pk}


def test_the_api_and_the_page_say_when_the_figures_were_computed(
    five_minutes, client, admin_client
):
    from subscriptions.models import ApiKey

    campaign = CampaignFactory(status="finished")
    DeliveryFactory(campaign=campaign, state="sent", sent_at=timezone.now())
    _, key = ApiKey.issue("shop")

    body = client.get(
        f"/api/v1/campaigns/{campaign.pk}/stats/", headers={"Authorization": f"Api-Key {key}"}
    ).json()

    snapshot = StatsSnapshot.objects.get(campaign=campaign)
    assert body["computed_at"] == snapshot.computed_at.isoformat()
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/stats/")
    assert f"figures as of {snapshot.computed_at:%Y-%m-%d %H:%M:%S} UTC" in page.content.decode()


def test_the_programme_is_served_from_a_fresh_snapshot_per_period(five_minutes):
    from campaigns.models import ProgrammeSnapshot
    from campaigns.programme import programme_stats
    from campaigns.stats_snapshot import programme_stats_snapshot

    DeliveryFactory(state="sent", sent_at=timezone.now())
    first = programme_stats_snapshot(days=30)
    DeliveryFactory(state="sent", sent_at=timezone.now())

    # a minute later: the kept figures; another period is computed on its own
    later = programme_stats_snapshot(days=30, now=timezone.now() + dt.timedelta(minutes=1))
    assert later == first
    assert sum(c["sent"] for c in later["channels"].values()) == 1
    week = programme_stats_snapshot(days=7)
    assert sum(c["sent"] for c in week["channels"].values()) == 2

    # six minutes later: computed again, and kept
    now = timezone.now() + dt.timedelta(minutes=6)
    stale = programme_stats_snapshot(days=30, now=now)
    assert {k: v for k, v in stale.items() if k != "computed_at"} == programme_stats(
        days=30, now=now
    )
    assert set(ProgrammeSnapshot.objects.values_list("days", flat=True)) == {7, 30}


def test_the_beat_task_keeps_the_dashboards_default_period(five_minutes, settings):
    from campaigns.models import ProgrammeSnapshot
    from campaigns.programme import DEFAULT_DAYS
    from campaigns.tasks import programme_snapshot

    DeliveryFactory(state="sent", sent_at=timezone.now())

    programme_snapshot()

    kept = ProgrammeSnapshot.objects.get()
    assert kept.days == DEFAULT_DAYS
    assert sum(c["sent"] for c in kept.figures["channels"].values()) == 1
    # and beat sends it, well inside the age a reader still takes
    from config.celery import PROGRAMME_SNAPSHOT_SECONDS, app

    [entry] = [e for e in app.conf.beat_schedule.values() if e["task"] == programme_snapshot.name]
    assert entry["schedule"] == PROGRAMME_SNAPSHOT_SECONDS < settings.STATS_SNAPSHOT_MAX_AGE


def test_the_programme_api_and_dashboard_say_when_the_figures_were_computed(
    five_minutes, client, admin_client
):
    from campaigns.models import ProgrammeSnapshot
    from subscriptions.models import ApiKey

    DeliveryFactory(state="sent", sent_at=timezone.now())
    _, key = ApiKey.issue("shop")

    body = client.get("/api/v1/stats/", headers={"Authorization": f"Api-Key {key}"}).json()

    snapshot = ProgrammeSnapshot.objects.get(days=30)
    assert body["computed_at"] == snapshot.computed_at.isoformat()
    page = admin_client.get("/admin/campaigns/campaign/programme/").content.decode()
    assert f"figures as of {snapshot.computed_at:%Y-%m-%d %H:%M:%S} UTC" in page
