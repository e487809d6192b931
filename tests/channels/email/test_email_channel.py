"""The e-mail channel end to end in this process: the dispatcher sends a delivery through Django's
SMTP backend to a real SMTP server on loopback; the links in it answer the survey, report the
open and unsubscribe in one click (RFC 8058); the ESP's tracking arrives through anymail."""

import json
import re
from base64 import b64encode
from urllib.parse import urlsplit

import pytest

from campaigns.dispatch import run_account
from campaigns.models import Delivery, SurveyAnswer
from subscriptions.models import ConsentEvent, Subscription
from tests.channels.email.smtp import smtp_server
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
SURVEY = {
    "default": {
        "text": "How was {items}?\nTell us in one tap.",
        "buttons": [{"text": str(n), "payload": f"survey:{{delivery}}:{n}"} for n in range(1, 6)],
    }
}


@pytest.fixture
def mailbox(settings):
    with smtp_server(settings) as box:
        yield box


@pytest.fixture
def email_delivery():
    subscription = SubscriptionFactory(
        account=ChannelAccountFactory(kind="email", name="shop-email"),
        platform_user_id="olena@example.com",
    )
    campaign = CampaignFactory(
        kind="triggered", category="survey", topic="surveys", content=SURVEY,
        respect_quiet_hours=False,
    )  # fmt: skip
    return DeliveryFactory(campaign=campaign, subscription=subscription, order=subscription.order)


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def unsubscribe_header(message) -> str:
    return str(message["List-Unsubscribe"]).strip().removeprefix("<").removesuffix(">")


def html_links(message) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return re.findall(r'href="([^"]+)"', html)


def test_the_dispatcher_sends_html_and_text_with_one_click_unsubscribe(mailbox, email_delivery):
    run_account(email_delivery.account_id)

    [message] = mailbox.messages
    email_delivery.refresh_from_db()
    assert email_delivery.state == "sent"
    assert email_delivery.provider_message_id == message["Message-ID"].strip("<>")
    assert message["To"] == "olena@example.com"
    assert message["From"] == "menu@shop.example" and message["Reply-To"] == "care@shop.example"
    assert str(message["Subject"]).strip().startswith("How was ")
    text = message.get_body(("plain",)).get_content()
    assert "Tell us in one tap." in text and "Unsubscribe: http" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = unsubscribe_header(message)
    links = html_links(message)
    assert unsubscribe in links
    assert len([link for link in links if "/e/a/" in link]) == 5  # the five scores


def test_rfc_8058_one_click_round_trip_writes_the_consent_log(client, mailbox, email_delivery):
    run_account(email_delivery.account_id)
    [message] = mailbox.messages
    url = path(unsubscribe_header(message))
    subscription = email_delivery.subscription

    # A mail scanner's GET changes nothing: it shows a page with the button.
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert Subscription.objects.get(pk=subscription.pk).status == "active"

    # The mail client's one-click POST (no cookies, no CSRF token) unsubscribes.
    client.handler.enforce_csrf_checks = True
    done = client.post(url, "List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert done.status_code == 200 and "olena@example.com" in done.text
    assert Subscription.objects.get(pk=subscription.pk).status == "unsubscribed"
    [event] = ConsentEvent.objects.filter(subscription=subscription, kind="opt_out")
    assert (event.source, event.evidence) == ("email_unsubscribe", "List-Unsubscribe one-click")


def test_a_tampered_unsubscribe_link_changes_nothing(client, mailbox, email_delivery):
    run_account(email_delivery.account_id)
    url = path(unsubscribe_header(mailbox.messages[0]))
    forged = url.replace("/e/unsubscribe/", "/e/unsubscribe/x")

    form = "application/x-www-form-urlencoded"
    assert client.post(forged, "List-Unsubscribe=One-Click", content_type=form).status_code == 404
    assert email_delivery.subscription.consents.filter(kind="opt_out").count() == 0


def test_a_score_link_answers_the_survey_and_the_pixel_reports_the_open(
    client, mailbox, email_delivery
):
    run_account(email_delivery.account_id)
    [message] = mailbox.messages
    links = html_links(message)
    four = [link for link in links if "/e/a/" in link][3]
    pixel = re.search(r'<img src="([^"]+\.gif)"', message.get_body(("html",)).get_content())[1]

    assert client.get(path(pixel)).status_code == 200
    page = client.get(path(four))

    assert page.status_code == 200 and "Thank you" in page.text
    answer = SurveyAnswer.objects.get(delivery=email_delivery)
    assert answer.score == 4
    email_delivery.refresh_from_db()
    assert email_delivery.read_at is not None and email_delivery.answered_at is not None
    # A link preview bot does not answer for the customer.
    SurveyAnswer.objects.all().delete()
    client.get(path(links[links.index(four) - 1]), headers={"user-agent": "Slackbot-LinkExpanding"})
    assert not SurveyAnswer.objects.exists()


def test_a_refused_address_fails_and_blocks_it_a_down_server_is_retried(
    settings, mailbox, email_delivery
):
    mailbox.refuse["olena@example.com"] = "550 5.1.1 No such user"
    run_account(email_delivery.account_id)
    email_delivery.refresh_from_db()
    assert email_delivery.state == "failed"
    assert Subscription.objects.get(pk=email_delivery.subscription_id).status == "blocked"

    other = DeliveryFactory(
        campaign=email_delivery.campaign,
        subscription=SubscriptionFactory(
            account=email_delivery.account, platform_user_id="ivan@example.com"
        ),
    )
    settings.EMAIL_PORT = 9  # nothing listens there
    run_account(other.account_id)
    other.refresh_from_db()
    assert (other.state, other.attempts) == ("pending", 1)  # back to due after a backoff


def postmark(client, payload, auth="hooks:s3cret-s3cret"):
    return client.post(
        "/webhooks/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        headers={"authorization": "Basic " + b64encode(auth.encode()).decode()},
    )


def test_esp_tracking_feeds_receipts_and_a_bounce_blocks(client, settings, mailbox, email_delivery):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hooks:s3cret-s3cret"}
    run_account(email_delivery.account_id)
    email_delivery.refresh_from_db()
    message_id = email_delivery.provider_message_id
    delivered = {
        "RecordType": "Delivery", "MessageID": message_id, "Recipient": "olena@example.com",
        "DeliveredAt": "2026-12-05T10:00:00Z", "Details": "Test",
    }  # fmt: skip

    assert postmark(client, delivered, auth="hooks:wrong").status_code == 400
    assert Delivery.objects.get(pk=email_delivery.pk).delivered_at is None
    assert postmark(client, delivered).status_code == 200
    assert (
        postmark(
            client, {**delivered, "RecordType": "Open", "ReceivedAt": "2026-12-05T10:05:00Z"}
        ).status_code
        == 200
    )
    email_delivery.refresh_from_db()
    assert email_delivery.delivered_at.isoformat() == "2026-12-05T10:00:00+00:00"
    assert email_delivery.read_at is not None

    bounce = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "MessageID": message_id,
              "Email": "olena@example.com", "BouncedAt": "2026-12-05T10:10:00Z",
              "Description": "The server was unable to deliver your message"}  # fmt: skip
    assert postmark(client, bounce).status_code == 200
    subscription = Subscription.objects.get(pk=email_delivery.subscription_id)
    assert subscription.status == "blocked"
    assert subscription.consents.get(kind="blocked").evidence.startswith("Postmark bounced")


def test_without_a_webhook_secret_every_esp_post_is_refused(client, settings, email_delivery):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}
    bounce = {"RecordType": "Bounce", "Type": "HardBounce", "Email": "olena@example.com"}

    assert postmark(client, bounce).status_code == 403
    assert Subscription.objects.get(pk=email_delivery.subscription_id).status == "active"


def test_connect_channel_sets_up_an_email_account_and_prints_the_esp_webhook(settings, capsys):
    from django.core.management import call_command

    from channels.models import ChannelAccount

    call_command(
        "connect_channel", "email", "shop-mail", "--credential", "from_email=hi@shop.example"
    )

    account = ChannelAccount.objects.get(name="shop-mail")
    assert (account.kind, account.credentials) == ("email", {"from_email": "hi@shop.example"})
    out = capsys.readouterr()
    assert out.out.strip() == f"{settings.PUBLIC_BASE_URL}/webhooks/anymail/<esp>/tracking/"
    assert "registered" not in out.err
