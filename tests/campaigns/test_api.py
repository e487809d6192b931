import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from subscriptions.models import ApiKey
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
CONTENT = {"default": {"text": "Hi {name}!", "buttons": [{"text": "Menu", "url": "{link}"}]}}


@pytest.fixture
def api(client):
    _, key = ApiKey.issue("shop")

    def call(method: str, path: str, body: object = None, **headers: str):
        headers.setdefault("Authorization", f"Api-Key {key}")
        if body is None:
            return getattr(client, method)(f"/api/v1{path}", headers=headers)
        return getattr(client, method)(
            f"/api/v1{path}", body, content_type="application/json", headers=headers
        )

    return call


def one_off(**overrides) -> dict:
    return {
        "name": "Black Friday",
        "kind": "one_off",
        "category": "marketing",
        "topic": "promotions",
        "content": CONTENT,
        "send_at": "2026-11-27T09:00:00Z",
        **overrides,
    }


def test_it_creates_a_draft_campaign(api):
    account = ChannelAccountFactory(kind="telegram")
    response = api("post", "/campaigns/", one_off(accounts=[account.pk], languages=["ru"]))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["accounts"], body["languages"]) == ("draft", [account.pk], ["ru"])
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.send_at == dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)


def test_it_creates_recurring_and_triggered_campaigns(api):
    weekly = one_off(kind="recurring", send_at=None, weekday=3, local_time="10:00")
    weekly["trigger_conditions"] = {"exclude_ordered_since_days": 3}
    survey = one_off(
        kind="triggered",
        category="survey",
        topic="surveys",
        subscribed_topics=["surveys", "menu"],
        send_at=None,
        trigger_event="order.delivered",
        trigger_delay="03:00:00",
        trigger_conditions={"skus": ["borscht"], "min_total": 20},
    )
    assert api("post", "/campaigns/", weekly).status_code == 201
    response = api("post", "/campaigns/", survey)
    assert response.status_code == 201, response.json()
    created = Campaign.objects.get(pk=response.json()["id"])
    assert created.trigger_delay == dt.timedelta(hours=3)
    assert created.subscribed_topics == ["surveys", "menu"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (one_off(send_at=None), "send_at"),
        (one_off(kind="recurring", send_at=None, local_time="10:00"), "weekday"),
        (one_off(kind="recurring", weekday=9, local_time="10:00"), "weekday"),
        (one_off(kind="triggered", send_at=None), "trigger_event"),
        (one_off(kind="triggered", trigger_event="order.eaten"), "trigger_event"),
        (one_off(kind="weekly"), "kind"),
        (one_off(content={}), "content"),
        (one_off(content={"default": "hi"}), "content"),
        (one_off(content={"fax": {"text": "hi"}}), "content"),
        (one_off(content={"default": {"text": 5}}), "content"),
        (one_off(content={"default": {"buttons": [{"label": "x"}]}}), "content"),
        (one_off(content={"default": {"cards": [{"subtitle": "no title"}]}}), "content"),
        (one_off(accounts=[999999]), "accounts"),
        (one_off(link_url="ftp://shop.example/"), "link_url"),
        (one_off(min_survey_score=4, max_survey_score=2), "min_survey_score"),
        (one_off(trigger_conditions={"skus": ["x"]}), "trigger_conditions"),
        (
            one_off(kind="triggered", trigger_event="order.paid", trigger_conditions={"x": 1}),
            "trigger_conditions",
        ),
        (
            one_off(kind="triggered", trigger_event="order.paid", trigger_conditions={"skus": "a"}),
            "trigger_conditions",
        ),
        (one_off(trigger_delay="soon"), "trigger_delay"),
        (
            one_off(kind="triggered", trigger_event="order.paid", trigger_delay="-1 00:00:00"),
            "trigger_delay",
        ),
        (one_off(skus="borscht"), "skus"),
        # consent: a survey needs the surveys topic, a service message none
        (one_off(category="survey", topic="menu"), "topic"),
        (one_off(category="service", topic="menu"), "topic"),
        (one_off(category="marketing", topic="surveys"), "topic"),
        (one_off(subscribed_topics=["sport"]), "subscribed_topics"),
        (one_off(subscribed_topics="menu"), "subscribed_topics"),
        (one_off(whatsapp_template_params="{name}"), "whatsapp_template_params"),
        (one_off(whatsapp_template_buttons="survey:1"), "whatsapp_template_buttons"),
        (one_off(whatsapp_template_params=["{name}", ""]), "whatsapp_template_params"),
    ],
)
def test_it_names_the_field_that_is_wrong(api, body, field):
    response = api("post", "/campaigns/", body)
    assert response.status_code == 400
    assert field in response.json()


def test_it_answers_400_to_a_body_that_is_not_json(api):
    response = api("post", "/campaigns/", "{not json")
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_it_answers_401_without_a_valid_key(api):
    assert api("post", "/campaigns/", one_off(), Authorization="").status_code == 401
    assert api("get", "/campaigns/1/", Authorization="Api-Key nope").status_code == 401


def test_it_reads_a_campaign(api):
    campaign = CampaignFactory(name="Menu")
    response = api("get", f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (campaign.pk, "Menu")
    assert api("get", "/campaigns/999999/").status_code == 404


def test_launch_schedules_a_one_off_and_writes_what_is_due(api):
    # given a draft one-off due now and two subscribers
    SubscriptionFactory(), SubscriptionFactory()
    campaign = CampaignFactory(status="draft", send_at=timezone.now())
    # when
    response = api("post", f"/campaigns/{campaign.pk}/launch/")
    # then
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["materialized"]) == ("running", 2)
    assert Delivery.objects.filter(campaign=campaign).count() == 2
    # and launching again is a conflict
    assert api("post", f"/campaigns/{campaign.pk}/launch/").status_code == 409


def test_an_archived_campaign_is_not_launched(api):
    SubscriptionFactory()
    campaign = CampaignFactory(status="draft", send_at=timezone.now(), archived_at=timezone.now())

    response = api("post", f"/campaigns/{campaign.pk}/launch/")

    assert response.status_code == 409
    assert "archived" in response.json()["detail"]
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert not Delivery.objects.filter(campaign=campaign).exists()


def test_launch_of_a_later_one_off_only_schedules_it(api):
    campaign = CampaignFactory(status="draft", send_at=timezone.now() + dt.timedelta(days=2))
    response = api("post", f"/campaigns/{campaign.pk}/launch/")
    assert (response.json()["status"], response.json()["materialized"]) == ("scheduled", 0)


def test_launch_runs_triggered_campaigns(api):
    campaign = CampaignFactory(kind="triggered", trigger_event="order.paid", status="paused")
    response = api("post", f"/campaigns/{campaign.pk}/launch/")
    assert (response.status_code, response.json()["status"]) == (200, "running")


def test_relaunch_skips_weekly_rows_that_fell_due_long_ago_while_paused(api):
    campaign = CampaignFactory(kind="recurring", status="paused", weekday=3, local_time=dt.time(10))
    stale = DeliveryFactory(campaign=campaign, due_at=timezone.now() - dt.timedelta(days=7))
    fresh = DeliveryFactory(campaign=campaign, occurrence="next", due_at=timezone.now())
    assert api("post", f"/campaigns/{campaign.pk}/launch/").status_code == 200
    stale.refresh_from_db(), fresh.refresh_from_db()
    assert (stale.state, stale.reason) == ("skipped", "expired_while_paused")
    assert fresh.state == "pending"


def test_launch_refuses_an_incomplete_campaign(api):
    campaign = CampaignFactory(status="draft", send_at=None)
    response = api("post", f"/campaigns/{campaign.pk}/launch/")
    assert response.status_code == 409 and "send_at" in response.json()["detail"]


def test_pause_stops_a_running_campaign(api):
    campaign = CampaignFactory(status="running")
    response = api("post", f"/campaigns/{campaign.pk}/pause/")
    assert (response.status_code, response.json()["status"]) == (200, "paused")
    assert api("post", f"/campaigns/{campaign.pk}/pause/").status_code == 409
    assert api("post", "/campaigns/999999/pause/").status_code == 404


def test_stats_count_outcomes(api):
    campaign = CampaignFactory()
    sub = SubscriptionFactory()
    DeliveryFactory(campaign=campaign, subscription=sub, state="sent", read_at=timezone.now())
    DeliveryFactory(campaign=campaign, state="skipped", reason="no_consent", occurrence="b")
    viber = SubscriptionFactory(account=ChannelAccountFactory(kind="viber"))
    for occurrence in ("c", "d"):
        DeliveryFactory(
            campaign=campaign, subscription=viber, occurrence=occurrence,
            state="skipped", reason="viber window closed",
        )  # fmt: skip
    response = api("get", f"/campaigns/{campaign.pk}/stats/")
    assert response.status_code == 200
    body = response.json()
    assert body["by_state"] == {"sent": 1, "skipped": 3}
    assert body["by_reason"] == {"no_consent": 1, "viber window closed": 2}
    # each channel counts its own states and reasons
    assert body["per_channel"] == {
        "telegram": {"by_state": {"sent": 1, "skipped": 1}, "by_reason": {"no_consent": 1}},
        "viber": {"by_state": {"skipped": 2}, "by_reason": {"viber window closed": 2}},
    }
    assert (body["total"], body["read"], body["clicked"]) == (4, 1, 0)
    assert body["holdout"]["sent"]["members"] == 1
    assert api("get", "/campaigns/999999/stats/").status_code == 404


def test_the_schema_documents_the_campaign_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    for path in ("/api/v1/campaigns/", "/api/v1/campaigns/{id}/launch/"):
        assert path in response.text


def test_a_paused_campaigns_due_rows_wake_no_sender(api):
    # the contract with campaigns/dispatch: a paused campaign's rows are not due work
    from campaigns.dispatch import accounts_to_wake

    campaign = CampaignFactory(status="running")
    delivery = DeliveryFactory(campaign=campaign, due_at=timezone.now())
    assert delivery.account_id in accounts_to_wake(timezone.now())
    api("post", f"/campaigns/{campaign.pk}/pause/")
    assert delivery.account_id not in accounts_to_wake(timezone.now())
