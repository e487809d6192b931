# ruff: noqa: RUF001 - Russian text uses Cyrillic letters that look Latin
"""The SMS channel over both gateways, against the fake platform server: what each send looks
like, every error answer classified, delivery reports and incoming texts through our webhook
(signed by Twilio, carrying the secret for SMS.ru), STOP and numbered choices."""

import base64
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from campaigns.dispatch import run_account
from campaigns.models import Delivery, SurveyAnswer
from channels.errors import ConfigurationError, RecipientGone, RetryAfter, Transient
from channels.messages import Button, RichMessage
from channels.models import InboundEvent
from channels.providers.base import SendOptions
from channels.providers.sms.twilio import signature
from subscriptions.models import Subscription
from tests.factories import CampaignFactory, DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
SMSRU = {"gateway": "smsru", "api_id": "smsru-api-id", "from": "ShopMenu"}
PHONE = "+79161234567"


@pytest.fixture
def twilio(account_on):
    return account_on("sms", name="shop-sms")


@pytest.fixture
def smsru(account_on):
    return account_on("sms", name="shop-smsru", credentials=dict(SMSRU))


def test_twilio_gets_a_form_post_with_basic_auth_and_the_status_callback(twilio, fake_platform):
    sid = twilio.provider().send(PHONE, RichMessage(text="Your order is on its way"))

    [call] = fake_platform.requests_for("twilio")
    assert call.path == "/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json"
    assert call.form["To"] == PHONE and call.form["From"] == "+15550009999"
    assert call.form["Body"] == "Your order is on its way"
    assert call.form["StatusCallback"].endswith("/hooks/shop-sms/")
    user, _, password = base64.b64decode(call.headers["authorization"][6:]).decode().partition(":")
    assert (user, password) == ("AC00000000000000000000000000000001", "twilio-auth-token")
    assert sid.startswith("SM")


def test_smsru_gets_the_number_without_plus_and_returns_the_sms_id(smsru, fake_platform):
    sms_id = smsru.provider().send(PHONE, RichMessage(text="Ваш заказ в пути"))

    [call] = fake_platform.requests_for("smsru")
    assert call.form["to"] == "79161234567" and call.form["msg"] == "Ваш заказ в пути"
    assert (call.form["api_id"], call.form["from"], call.form["json"]) == (
        "smsru-api-id", "ShopMenu", "1",
    )  # fmt: skip
    assert sms_id.startswith("000001-")


@pytest.mark.parametrize("gateway", ["twilio", "smsru"])
def test_every_error_answer_is_classified(gateway, account_on, fake_platform):
    extra = {} if gateway == "twilio" else {"credentials": dict(SMSRU)}
    account = account_on("sms", name=f"err-{gateway}", **extra)
    provider = account.provider()
    message = RichMessage(text="Hi")

    with pytest.raises(RecipientGone):  # an invalid number
        provider.send("not-a-number", message)
    fake_platform.block(PHONE.lstrip("+") if gateway == "smsru" else PHONE, gateway)
    with pytest.raises(RecipientGone):  # STOP'd (Twilio 21610) / no route (SMS.ru 207)
        provider.send(PHONE, message)
    fake_platform.set_rate_limit(_token(account), 1)
    provider.send("+79160000001", message)
    with pytest.raises(RetryAfter if gateway == "twilio" else Transient):  # 429 / SMS.ru 220
        provider.send("+79160000002", message)
    fake_platform.fail(503, count=1, platform=gateway)
    with pytest.raises(Transient):
        provider.send("+79160000003", message)
    bad = {"auth_token": "bad-token"} if gateway == "twilio" else {"api_id": "bad-id"}
    account.credentials = {**account.credentials, **bad}
    with pytest.raises(ConfigurationError):
        account.provider().send("+79160000004", message)


def _token(account) -> str:
    creds = account.credentials
    return creds["api_id"] if creds["gateway"] == "smsru" else creds["auth_token"]


def test_rendering_numbers_the_choices_and_counts_segments(twilio):
    message = RichMessage(
        text="Как вам заказ?",
        buttons=(Button(text="Меню", url="https://shop.example/m"),),
        quick_replies=(
            Button(text="5", payload="survey:9:5"),
            Button(text="1", payload="survey:9:1"),
        ),
    )

    [part] = twilio.provider().render(message, SendOptions())

    assert part["text"] == "Как вам заказ?\nМеню: https://shop.example/m\n1 - 5\n2 - 1"
    assert (part["encoding"], part["segments"]) == ("UCS-2", 1)


def signed_post(client, account, params: dict, settings):
    body = urlencode(params)
    url = f"{settings.PUBLIC_BASE_URL}/hooks/{account.name}/"
    return client.post(
        f"/hooks/{account.name}/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"x-twilio-signature": signature(account.credentials["auth_token"], url, params)},
    )


def sent_sms(account, provider_id: str) -> Delivery:
    subscription = SubscriptionFactory(account=account, platform_user_id=PHONE)
    return DeliveryFactory(
        subscription=subscription, state="sent", provider_message_id=provider_id,
        sent_at=timezone.now(),
    )  # fmt: skip


def test_a_twilio_delivery_report_stamps_the_delivery_once(client, twilio, settings):
    delivery = sent_sms(twilio, "SM0001")
    report = {"MessageSid": "SM0001", "MessageStatus": "delivered", "To": PHONE, "From": "+1555"}

    assert signed_post(client, twilio, report, settings).status_code == 200
    assert signed_post(client, twilio, report, settings).status_code == 200  # redelivered

    delivery.refresh_from_db()
    assert delivery.delivered_at is not None and delivery.read_at is None
    assert InboundEvent.objects.filter(account=twilio, kind="delivered").count() == 1


def test_a_forged_or_malformed_twilio_post_changes_nothing(client, twilio, settings):
    delivery = sent_sms(twilio, "SM0002")
    report = {"MessageSid": "SM0002", "MessageStatus": "delivered", "To": PHONE}
    forged = client.post(
        f"/hooks/{twilio.name}/", urlencode(report),
        content_type="application/x-www-form-urlencoded",
        headers={"x-twilio-signature": "bm90IGEgc2lnbmF0dXJl"},
    )  # fmt: skip
    assert forged.status_code == 403
    assert signed_post(client, twilio, {"MessageStatus": "delivered"}, settings).status_code == 400
    delivery.refresh_from_db()
    assert delivery.delivered_at is None and not InboundEvent.objects.exists()


def test_an_smsru_report_needs_the_secret_in_its_url(client, smsru):
    delivery = sent_sms(smsru, "000123-1")
    body = urlencode({"data[0]": "sms_status\n000123-1\n103\n1733400000"})
    url = f"/hooks/{smsru.name}/"

    assert (
        client.post(url, body, content_type="application/x-www-form-urlencoded").status_code == 403
    )
    answer = client.post(f"{url}?secret={smsru.webhook_secret}", body,
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert answer.status_code == 200 and answer.content == b"100"
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None


def test_stop_by_sms_unsubscribes_with_a_consent_event(client, twilio, settings):
    subscription = SubscriptionFactory(account=twilio, platform_user_id=PHONE)
    inbound = {"MessageSid": "SM9", "From": PHONE, "To": "+15550009999", "Body": "STOP"}

    assert signed_post(client, twilio, inbound, settings).status_code == 200

    subscription = Subscription.objects.get(pk=subscription.pk)
    assert subscription.status == "unsubscribed"
    assert subscription.consents.filter(kind="opt_out", source="keyword").exists()


def test_a_numbered_reply_answers_the_last_surveys_choice(client, twilio, settings, fake_platform):
    subscription = SubscriptionFactory(account=twilio, platform_user_id=PHONE)
    scores = [{"text": "★" * n, "payload": f"survey:{{delivery}}:{n}"} for n in (5, 4, 3, 2, 1)]
    campaign = CampaignFactory(
        kind="triggered", category="survey", topic="surveys", respect_quiet_hours=False,
        content={"default": {"text": "How was it? Reply with a number:", "buttons": scores}},
    )  # fmt: skip
    delivery = DeliveryFactory(campaign=campaign, subscription=subscription)
    run_account(twilio.pk)
    [sms] = fake_platform.requests_for("twilio")
    assert "2 - ★★★★" in sms.form["Body"]

    reply = {"MessageSid": "SM10", "From": PHONE, "To": "+15550009999", "Body": " 2 "}
    assert signed_post(client, twilio, reply, settings).status_code == 200

    assert SurveyAnswer.objects.get(delivery=delivery).score == 4


def test_links_in_an_sms_are_short_and_count_the_click(client, twilio, settings, fake_platform):
    from campaigns.models import LinkClick

    subscription = SubscriptionFactory(account=twilio, platform_user_id=PHONE)
    menu = {"text": "Next week's menu", "buttons": [{"text": "Menu", "url": "{link}"}]}
    campaign = CampaignFactory(
        respect_quiet_hours=False,
        link_url="https://shop.example/menu/next-week",
        content={"default": menu},
    )
    delivery = DeliveryFactory(campaign=campaign, subscription=subscription)
    run_account(twilio.pk)

    [sms] = fake_platform.requests_for("twilio")
    [link] = [w for w in sms.form["Body"].split() if w.startswith(settings.PUBLIC_BASE_URL)]
    code = link.rsplit("/t/", 1)[1]
    assert len(code) == 8 and len(link) == len(settings.PUBLIC_BASE_URL) + 11
    opened = client.get(f"/t/{code}")
    assert opened.status_code == 302
    assert opened["Location"].startswith("https://shop.example/menu/next-week?utm_source=comeback")
    assert LinkClick.objects.get().delivery_id == delivery.pk
    assert client.get("/t/AAAAAAAA").status_code == 404


def test_a_post_to_an_account_without_a_valid_gateway_is_refused_not_a_500(client, account_on):
    broken = account_on("sms", name="shop-sms-broken", credentials={"gateway": "carrier-pigeon"})
    body = urlencode({"MessageSid": "SM1", "MessageStatus": "delivered"})

    answer = client.post(
        f"/hooks/{broken.name}/", body, content_type="application/x-www-form-urlencoded"
    )

    assert answer.status_code == 403
    assert not InboundEvent.objects.exists()
