"""What the shop is told, from the real paths that cause it: a Start, a STOP, a survey answer, a
low score (also to a staff chat), a click; and the admin's endpoint and delivery-log screens."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.surveys import survey_alerts_send
from campaigns.tracking import tracked_link
from shopwebhooks.delivery import deliver_due
from shopwebhooks.models import Endpoint, ShopEvent, WebhookDelivery
from subscriptions.services import subscription_block, subscription_stop
from tests.campaigns.test_surveys import inbound, press
from tests.campaigns.test_surveys import sent_survey as sent_survey
from tests.factories import ChannelAccountFactory, SubscriptionFactory
from tests.shopwebhooks.receiver import receiver

pytestmark = pytest.mark.django_db


def events(kind: str) -> list[dict]:
    return [e.data for e in ShopEvent.objects.filter(type=kind).order_by("occurred_at")]


def test_a_stop_and_a_block_are_told_with_the_customer_and_the_channel():
    subscription = SubscriptionFactory(account=ChannelAccountFactory(kind="viber"))
    subscription_stop(subscription=subscription, source="keyword", evidence="STOP")
    other = SubscriptionFactory()
    subscription_block(
        account=other.account, platform_user_id=other.platform_user_id, reason="blocked the bot"
    )

    [ended] = events("subscription.ended")
    assert ended["customer_external_id"] == subscription.customer.external_id
    assert (ended["channel"], ended["source"]) == ("viber", "keyword")
    assert ended["order_external_id"] == subscription.order.external_id
    [blocked] = events("subscription.blocked")
    assert (blocked["subscription_id"], blocked["reason"]) == (other.pk, "blocked the bot")


def test_a_survey_answer_and_a_low_score_are_told(sent_survey, settings):  # noqa: F811
    settings.SURVEY_ALERT_EMAIL = []
    press(sent_survey, 2)
    inbound(sent_survey, "text", text="Cold soup")

    [answered] = events("survey.answered")
    assert (answered["score"], answered["order_external_id"]) == (2, "A-100")
    assert answered["items"] == ["borscht", "varenyky"]
    assert survey_alerts_send() == 1  # the comment came: no grace period to wait
    assert survey_alerts_send() == 0
    [low] = events("survey.low_score")
    assert (low["score"], low["comment"]) == (2, "Cold soup")


def test_a_low_score_reaches_the_staff_chat(sent_survey, settings, fake_platform):  # noqa: F811
    staff = ChannelAccountFactory(kind="telegram", name="staff-bot", api_base=fake_platform.url)
    settings.SURVEY_ALERT_EMAIL = []
    settings.SURVEY_ALERT_CHATS = ["staff-bot:-1001234567890", "no-such-account:1", "garbage"]
    press(sent_survey, 1)
    inbound(sent_survey, "text", text="Raw")

    assert survey_alerts_send() == 1

    [alert] = [r for r in fake_platform.requests_for("telegram") if r.recipient == "-1001234567890"]
    assert alert.token == staff.credentials["token"]
    assert "Low score 1/5" in alert.json["text"] and "Raw" in alert.json["text"]


def test_a_click_is_told(client, sent_survey):  # noqa: F811
    link = tracked_link(delivery_id=sent_survey.pk, url="https://shop.example/menu")
    client.get(link.removeprefix("http://testserver"))

    [clicked] = events("link.clicked")
    assert clicked["url"] == "https://shop.example/menu"
    assert clicked["delivery_id"] == sent_survey.pk


def test_a_new_endpoint_shows_its_generated_secret_once(admin_client):
    response = admin_client.post(
        "/admin/shopwebhooks/endpoint/add/",
        {"name": "shop", "url": "https://shop.example/hooks", "events": ["reorder.requested"],
         "enabled": "on"},
        follow=True,
    )  # fmt: skip

    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["reorder.requested"]
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.text
    page = admin_client.get(f"/admin/shopwebhooks/endpoint/{endpoint.pk}/change/").text
    assert endpoint.secret not in page  # write-only from then on


def test_rotating_keeps_the_old_secret_signing_for_a_day(admin_client):
    endpoint = Endpoint.objects.create(name="shop", url="https://shop.example/hooks")
    old = endpoint.secret
    admin_client.post(
        "/admin/shopwebhooks/endpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    later = timezone.now() + dt.timedelta(hours=23)
    assert endpoint.signing_secrets(later) == [endpoint.secret, old]
    assert endpoint.signing_secrets(later + dt.timedelta(hours=2)) == [endpoint.secret]


def test_the_log_resends_with_the_same_idempotency_key(admin_client):
    with receiver([]) as shop:
        Endpoint.objects.create(name="shop", url=shop.url)
        subscription_stop(subscription=SubscriptionFactory(), source="api", evidence="api")
        assert deliver_due() == 1
        row = WebhookDelivery.objects.get()
        assert row.state == "delivered"

        page = admin_client.get(f"/admin/shopwebhooks/webhookdelivery/{row.pk}/change/").text
        assert "subscription.ended" in page and str(row.event_id) in page
        admin_client.post(
            "/admin/shopwebhooks/webhookdelivery/",
            {"action": "resend_selected", "_selected_action": [row.pk]},
        )
        assert deliver_due() == 1

    first, second = shop.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("delivered", 2)
