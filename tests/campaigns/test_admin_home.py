"""The admin home: what is running, today's sends per channel, each account's health, and
sections named for a marketer with the technical models under "System"."""

import datetime as dt

import pytest
from django.utils import timezone

from channels.models import InboundEvent
from tests.factories import CampaignFactory, ChannelAccountFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def test_the_home_shows_running_campaigns_sends_today_and_account_health(admin_client):
    now = timezone.now()
    campaign = CampaignFactory(name="Weekly menu", status="running")
    DeliveryFactory(campaign=campaign, state="sent", sent_at=now)
    paused = ChannelAccountFactory(
        kind="whatsapp", name="shop-wa", paused_until=now + dt.timedelta(minutes=5)
    )
    InboundEvent.objects.create(
        account=paused, kind="text", platform_user_id="1", event_id="e1", occurred_at=now
    )
    page = admin_client.get("/admin/").text
    home = page.split('id="cb-home"')[1]
    assert "Weekly menu" in home and 'aria-valuenow="100"' in home
    assert "<th>telegram</th><td>1</td>" in home
    assert "paused by the platform (rate limit or refused credentials) until" in home
    assert f"{now:%Y-%m-%d}" in home  # its last webhook
    assert "/admin/campaigns/campaign/programme/" in home


def test_sections_are_named_for_a_marketer_with_technical_models_under_system(admin_client):
    app_list = admin_client.get("/admin/").context["app_list"]
    sections = {app["name"]: [m["object_name"] for m in app["models"]] for app in app_list}
    assert list(sections)[:4] == ["Campaigns", "Results", "Customers", "Channels"]
    assert sections["Campaigns"][0] == "Campaign"
    assert {"InboundEvent", "Heartbeat", "ApiKey"} <= set(sections["System"])
    assert "InboundEvent" not in sections["Channels"]
