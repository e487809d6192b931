"""GET /api/v1/campaigns/{id}/reach/, the admin panel, and the figures kept at launch."""

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from subscriptions.models import ApiKey
from tests.factories import CampaignFactory, ChannelAccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    _, key = ApiKey.issue("shop")

    def call(method: str, path: str, body: object = None):
        headers = {"Authorization": f"Api-Key {key}"}
        if body is None:
            return getattr(client, method)(f"/api/v1{path}", headers=headers)
        return getattr(client, method)(
            f"/api/v1{path}", body, content_type="application/json", headers=headers
        )

    return call


@pytest.fixture
def campaign():
    account = ChannelAccountFactory(kind="telegram")
    for wants in (True, True, False):
        SubscriptionFactory(account=account, wants_menu=wants, order=None)
    campaign = CampaignFactory(
        status="draft", topic="menu", send_at=timezone.now(), respect_quiet_hours=False
    )
    campaign.accounts.set([account])
    return campaign


def test_the_api_answers_reach_per_channel(api, campaign):
    answer = api("get", f"/campaigns/{campaign.pk}/reach/")
    assert answer.status_code == 200
    [telegram] = answer.json()["channels"]
    assert (telegram["kind"], telegram["audience"], telegram["send"]) == ("telegram", 3, 2)
    assert telegram["no_consent"] == 1
    assert answer.json()["totals"]["send"] == 2


def test_an_unknown_campaign_is_a_404_and_no_key_a_401(api, client):
    assert api("get", "/campaigns/999999/reach/").status_code == 404
    assert client.get("/api/v1/campaigns/1/reach/").status_code == 401


def test_launch_keeps_the_expected_reach(api, campaign):
    assert api("post", f"/campaigns/{campaign.pk}/launch/", {}).status_code == 200
    campaign.refresh_from_db()
    assert campaign.expected_reach["totals"]["send"] == 2


def test_the_admin_launch_keeps_it_too_and_the_page_shows_the_panel(admin_client, campaign):
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert "Who will get this" in page.text
    assert "would be sent now" in page.text
    admin_client.post(
        "/admin/campaigns/campaign/", {"action": "launch", "_selected_action": [campaign.pk]}
    )
    assert Campaign.objects.get(pk=campaign.pk).expected_reach["totals"]["audience"] == 3


def test_the_channel_account_form_takes_the_price(admin_client):
    account = ChannelAccountFactory(kind="whatsapp", name="shop-wa")
    page = admin_client.get(f"/admin/channels/channelaccount/{account.pk}/change/").text
    assert 'name="price_per_message"' in page and 'name="price_currency"' in page
