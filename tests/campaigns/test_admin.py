import html

import pytest
from django.utils import timezone

from campaigns.models import Attribution, Campaign, Delivery, LinkClick, SurveyAnswer
from channels.providers import PROVIDERS
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
CONTENT = {
    "default": {
        "text": "How was your order, {name}?",
        "buttons": [
            {"text": "Great", "payload": "survey:{delivery}:5"},
            {"text": "Bad", "payload": "survey:{delivery}:1"},
        ],
    },
    "telegram": {"text": "Telegram only: new menu", "buttons": [{"text": "Menu", "url": "{link}"}]},
}


@pytest.fixture
def campaign() -> Campaign:
    return CampaignFactory(status="draft", content=CONTENT, link_url="https://shop.example/menu")


@pytest.fixture
def outcomes(campaign):
    delivery = DeliveryFactory(campaign=campaign, state="sent", sent_at=timezone.now())
    SurveyAnswer.objects.create(delivery=delivery, score=2, comment="meh")
    LinkClick.objects.create(delivery=delivery, url="https://shop.example/menu")
    order = OrderFactory(customer=delivery.subscription.customer)
    Attribution.objects.create(order=order, delivery=delivery, via="click")
    return delivery


@pytest.mark.parametrize(
    "url",
    [
        "/admin/campaigns/campaign/",
        "/admin/campaigns/campaign/add/",
        "/admin/campaigns/delivery/",
        "/admin/campaigns/delivery/?state__exact=sent",
        "/admin/campaigns/surveyanswer/",
        "/admin/campaigns/linkclick/",
        "/admin/campaigns/attribution/",
    ],
)
def test_every_campaign_admin_page_loads(admin_client, outcomes, url):
    assert admin_client.get(url).status_code == 200


def test_the_change_page_shows_stats_and_a_preview_link(admin_client, campaign, outcomes):
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert "Delivered / read / clicked / answered" in page.text
    assert "telegram (sent 1)" in page.text  # per channel
    assert f"/admin/campaigns/campaign/{campaign.pk}/preview/" in page.text


def test_read_only_pages_of_outcomes_load(admin_client, outcomes):
    for model, pk in (
        ("delivery", outcomes.pk),
        ("surveyanswer", SurveyAnswer.objects.get().pk),
        ("linkclick", LinkClick.objects.get().pk),
        ("attribution", Attribution.objects.get().pk),
    ):
        page = admin_client.get(f"/admin/campaigns/{model}/{pk}/change/")
        assert page.status_code == 200, model
        assert 'name="_save"' not in page.text  # view only


def test_the_preview_renders_the_content_for_every_channel_kind(admin_client, campaign):
    # given one enabled account of every kind
    for kind in PROVIDERS:
        ChannelAccountFactory(kind=kind)
    # when
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/preview/")
    # then each channel shows its message and the platform payload, none failed to render
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Cannot render" not in text
    assert text.count("Request body") == len(PROVIDERS)
    assert "Telegram only: new menu" in text  # the channel's own content wins over default
    assert "How was your order, Alex?" in text
    assert "survey:0:5" in text  # the preview's stand-in delivery id


ADD_FIELDS = {
    "name": "Menu",
    "kind": "one_off",
    "category": "marketing",
    "topic": "menu",
    "skus": "[]",
    "languages": "[]",
    "trigger_conditions": "{}",
    "trigger_delay": "0",
    "holdout_percent": "0",
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "09:00",
    "respect_quiet_hours": "on",
    "send_at_0": "2026-11-27",
    "send_at_1": "09:00",
    "content": '{"default": {"text": "Hi"}}',
}


def test_the_admin_rejects_a_survey_gated_by_another_topic_and_saves_subscribed_topics(
    admin_client,
):
    add = "/admin/campaigns/campaign/add/"
    bad = admin_client.post(add, {**ADD_FIELDS, "category": "survey", "topic": "menu"})
    assert bad.status_code == 200 and not Campaign.objects.exists()
    assert "only to customers who chose surveys" in bad.text

    good = admin_client.post(add, {**ADD_FIELDS, "subscribed_topics": ["menu", "promotions"]})

    assert good.status_code == 302
    assert Campaign.objects.get().subscribed_topics == ["menu", "promotions"]


def test_the_admin_creates_a_campaign_and_rejects_bad_content(admin_client):
    fields = ADD_FIELDS
    bad = admin_client.post("/admin/campaigns/campaign/add/", {**fields, "content": '{"x": 1}'})
    assert bad.status_code == 200 and not Campaign.objects.exists()
    good = admin_client.post(
        "/admin/campaigns/campaign/add/", {**fields, "content": '{"default": {"text": "Hi"}}'}
    )
    assert good.status_code == 302
    assert Campaign.objects.get().content == {"default": {"text": "Hi"}}


def test_the_launch_and_pause_actions_change_the_status(admin_client):
    SubscriptionFactory()
    campaign = CampaignFactory(status="draft", send_at=timezone.now())
    changelist = "/admin/campaigns/campaign/"
    admin_client.post(changelist, {"action": "launch", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == "running"
    assert Delivery.objects.filter(campaign=campaign).count() == 1
    admin_client.post(changelist, {"action": "pause", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == "paused"
