"""E-mail and SMS opt-ins through the order API (subscriptions/contact_consent.py): each one in
the consent log with the shop's wording and time, and a subscription only with one."""

import pytest

from subscriptions.models import ConsentEvent, Subscription
from tests.factories import ChannelAccountFactory
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    order_body,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"
WORDING = "Send me the weekly menu and offers by e-mail"
SHOWN = "2026-11-20T09:58:00+03:00"


@pytest.fixture
def contact_accounts():
    return {
        kind: ChannelAccountFactory(kind=kind, name=f"shop-{kind}", credentials={})
        for kind in ("email", "sms")
    }


def consent(granted=True, **more):
    return {"granted": granted, "wording": WORDING, "shown_at": SHOWN, **more}


def test_an_email_opt_in_subscribes_the_address_with_the_wording_on_record(api, contact_accounts):
    body = order_body(email_consent=consent(), sms_consent=consent(topics=["menu"]))
    body["customer"]["email"] = "Ivan@Example.com"

    assert api.post(URL, body, format="json").status_code == 201

    email = Subscription.objects.get(account=contact_accounts["email"])
    assert (email.platform_user_id, email.status) == ("ivan@example.com", "active")
    assert email.topics() == ["menu", "surveys", "promotions"]
    assert email.source == "checkout_consent"
    sms = Subscription.objects.get(account=contact_accounts["sms"])
    assert (sms.platform_user_id, sms.topics()) == ("+79990001122", ["menu"])
    log = ConsentEvent.objects.filter(subscription=email).get()
    assert (log.kind, log.source) == ("opt_in", "api")
    assert log.evidence == f"{WORDING} (order A-1001)"
    assert log.occurred_at.isoformat() == "2026-11-20T06:58:00+00:00"
    assert log.topics == ["menu", "surveys", "promotions"]


def test_no_opt_in_no_subscription(api, contact_accounts):
    assert api.post(URL, order_body(), format="json").status_code == 201
    unticked = order_body(external_id="A-1002", email_consent=consent(granted=False))
    assert api.post(URL, unticked, format="json").status_code == 201

    assert not Subscription.objects.filter(account__kind__in=["email", "sms"]).exists()


def test_withdrawing_ends_the_subscription_and_says_so_in_the_log(api, contact_accounts):
    api.post(URL, order_body(email_consent=consent()), format="json")
    withdrawn = order_body(external_id="A-1002", email_consent=consent(granted=False))

    assert api.post(URL, withdrawn, format="json").status_code == 201

    email = Subscription.objects.get(account=contact_accounts["email"])
    assert email.status == "unsubscribed"
    kinds = list(ConsentEvent.objects.filter(subscription=email).values_list("kind", flat=True))
    assert kinds == ["opt_in", "opt_out"]


def test_a_repeat_of_the_same_opt_in_records_nothing_new(api, contact_accounts):
    api.post(URL, order_body(email_consent=consent()), format="json")
    api.post(URL, order_body(email_consent=consent()), format="json")

    assert ConsentEvent.objects.filter(subscription__account__kind="email").count() == 1


def test_a_new_address_replaces_the_old_one(api, contact_accounts):
    api.post(URL, order_body(email_consent=consent()), format="json")
    moved = order_body(external_id="A-1002", email_consent=consent())
    moved["customer"]["email"] = "ivan@new.example"

    api.post(URL, moved, format="json")

    rows = dict(
        Subscription.objects.filter(account=contact_accounts["email"]).values_list(
            "platform_user_id", "status"
        )
    )
    assert rows == {"ivan@example.com": "unsubscribed", "ivan@new.example": "active"}


def test_a_bounced_address_stays_blocked(api, contact_accounts):
    api.post(URL, order_body(email_consent=consent()), format="json")
    Subscription.objects.filter(account=contact_accounts["email"]).update(status="blocked")

    api.post(URL, order_body(external_id="A-1002", email_consent=consent()), format="json")

    assert Subscription.objects.get(account=contact_accounts["email"]).status == "blocked"


def test_without_an_email_account_the_consent_is_still_on_record(api):
    assert api.post(URL, order_body(email_consent=consent()), format="json").status_code == 201

    [event] = ConsentEvent.objects.all()
    assert (event.kind, event.subscription, event.customer.external_id) == ("opt_in", None, "C-77")


@pytest.mark.parametrize(
    ("change", "field_path"),
    [
        ({"email_consent": {"granted": True}}, ["email_consent", "wording"]),
        ({"email_consent": {"granted": True, "wording": "  "}}, ["email_consent", "wording"]),
        ({"sms_consent": {"wording": WORDING}}, ["sms_consent", "granted"]),
        ({"email_consent": consent(topics=["spam"])}, ["email_consent", "topics"]),
        (
            {"email_consent": consent(shown_at="2999-01-01T00:00:00Z")},
            ["email_consent", "shown_at"],
        ),
        ({"email_consent": "yes"}, ["email_consent"]),
    ],
)
def test_a_malformed_consent_is_a_400_naming_the_field(api, contact_accounts, change, field_path):
    response = api.post(URL, order_body(**change), format="json")

    assert response.status_code == 400
    errors = response.json()
    for key in field_path:
        errors = errors[key]
    assert errors
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize(("channel", "field"), [("email", "email"), ("sms", "phone")])
def test_an_opt_in_without_the_address_is_a_400_naming_it(api, contact_accounts, channel, field):
    body = order_body(**{f"{channel}_consent": consent()})
    body["customer"][field] = ""

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["customer"][field] == [f"Required when {channel}_consent is granted."]
    assert not Subscription.objects.exists()
