"""Content per language: the customer's locale, then its base language, then the default;
end to end through the dispatcher and the fake platform."""

import pytest

from campaigns.content import content_for, language_candidates
from campaigns.models import Campaign
from tests.campaigns.test_dispatch import dispatch_until_settled
from tests.factories import CampaignFactory, CustomerFactory, DeliveryFactory, SubscriptionFactory

VARIANTS = {
    "uk": {"default": {"text": "uk: Привіт, {name}"}},
    "ru": {
        "default": {"text": "ru: Привет, {name}"},
        "telegram": {"text": "ru-telegram: Привет, {name}"},
    },
}


def test_the_fallback_order_is_locale_then_base_language():
    assert language_candidates("uk-UA") == ("uk-ua", "uk")
    assert language_candidates("uk") == ("uk",)
    assert language_candidates("") == ()


@pytest.mark.parametrize(
    ("locale", "kind", "expected"),
    [
        ("uk-UA", "viber", ("uk", "uk: Привіт, {name}")),
        ("uk", "telegram", ("uk", "uk: Привіт, {name}")),
        ("ru-RU", "telegram", ("ru", "ru-telegram: Привет, {name}")),  # channel within language
        ("ru", "vk", ("ru", "ru: Привет, {name}")),
        ("de-DE", "telegram", ("", "default telegram")),  # no match: the default's channel one
        ("", "viber", ("", "default")),
    ],
)
def test_it_picks_the_language_then_the_channel(locale, kind, expected):
    campaign = Campaign(
        content={"default": {"text": "default"}, "telegram": {"text": "default telegram"}},
        content_variants=VARIANTS,
    )
    language, data = content_for(campaign, kind, locale)
    assert (language, data["text"]) == expected


@pytest.mark.django_db(transaction=True)
def test_a_ukrainian_customer_gets_uk_and_an_unmatched_one_the_default(account_on, fake_platform):
    account = account_on("telegram")
    campaign = CampaignFactory(
        category="service",
        content={"default": {"text": "en: Hello, {name}"}},
        content_variants=VARIANTS,
        respect_quiet_hours=False,
    )
    people = {"uk-UA": "Оксана", "de-DE": "Hans", "ru": "Иван"}
    for locale, name in people.items():
        customer = CustomerFactory(locale=locale, name=name)
        DeliveryFactory(
            campaign=campaign,
            subscription=SubscriptionFactory(account=account, customer=customer, order=None),
        )

    dispatch_until_settled(account)

    texts = sorted(
        r.json["text"] for r in fake_platform.requests_for("telegram") if r.answered == 200
    )
    assert texts == ["en: Hello, Hans", "ru-telegram: Привет, Иван", "uk: Привіт, Оксана"]
    assert set(campaign.deliveries.values_list("state", flat=True)) == {"sent"}
