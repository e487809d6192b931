"""The message builder's server side: variants per language, platform limits named before
saving, choice and duration widgets, templates in three languages."""

import datetime as dt
import json

import pytest

from campaigns.builder import content_errors, platform_limit
from campaigns.models import Campaign
from campaigns.phrases import reason_phrase
from channels.providers.messenger import render as messenger
from tests.campaigns.test_admin import ADD_FIELDS
from tests.factories import CustomerFactory, DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/campaigns/campaign/add/"


def test_the_limits_are_the_ones_the_renderers_use():
    assert platform_limit("messenger", "MAX_TITLE", 0) == messenger.MAX_TITLE
    assert platform_limit("messenger", "MAX_TEXT", 0) == messenger.MAX_TEXT


def test_errors_name_the_slot_the_field_and_the_platform_limit():
    long_label = {"default": {"text": "Hi", "buttons": [{"text": "x" * 25, "url": "{link}"}]}}
    assert content_errors(long_label) == [
        "Every channel message: button 1 label: 25 characters; Facebook Messenger shows at most 20",
        "Every channel message: button 1 label: 25 characters; WhatsApp shows at most 20",
    ]
    # A channel's own message takes that channel out of the default's limits.
    own = {**long_label, "messenger": {"text": "Hi"}, "whatsapp": {"text": "Hi"}}
    assert content_errors(own) == []
    too_long = {"telegram": {"text": "y" * 4097}}
    assert content_errors(too_long) == [
        "Telegram message: text: 4097 characters; Telegram allows 4096"
    ]
    assert content_errors({"default": {"buttons": [{"text": "", "payload": ""}]}}) == [
        "Every channel message: text: write the message (or add an image or cards)",
        "Every channel message: button 1: give it a label",
    ]


def test_the_comment_prompt_is_checked_as_text_of_a_sensible_length():
    assert content_errors({"default": {"text": "Hi", "comment_prompt": "Why?"}}) == []
    assert content_errors({"default": {"text": "Hi", "comment_prompt": 5}}) == [
        "Every channel message: comment prompt must be text"
    ]
    assert content_errors({"default": {"text": "Hi", "comment_prompt": "?" * 501}}) == [
        "Every channel message: comment prompt is 501 characters; at most 500"
    ]


def test_it_saves_variants_per_language_and_the_widgets_values(admin_client):
    response = admin_client.post(
        ADD,
        {
            **ADD_FIELDS,
            "kind": "recurring",
            "content": json.dumps({"default": {"text": "Hi {name}"}}),
            "content_uk": json.dumps({"default": {"text": "Привіт {name}"}}),
            "content_ru": "",
            "weekday": "4",
            "local_time": "11:00:00",
            "trigger_delay_0": "3",
            "trigger_delay_1": "hours",
        },
    )
    assert response.status_code == 302, response.text
    campaign = Campaign.objects.get()
    assert campaign.content_variants == {"uk": {"default": {"text": "Привіт {name}"}}}
    assert (campaign.weekday, campaign.local_time) == (4, dt.time(11, 0))
    assert campaign.trigger_delay == dt.timedelta(hours=3)


def test_a_limit_error_is_shown_on_the_field_before_saving(admin_client):
    buttons = [{"text": t, "payload": t} for t in ("B", "C", "D " * 12)]
    content = {"default": {"text": "Hi", "buttons": [{"text": "A", "url": "{link}"}, *buttons]}}
    page = admin_client.post(ADD, {**ADD_FIELDS, "content_uk": json.dumps(content)})
    assert page.status_code == 200
    assert not Campaign.objects.exists()
    errors = page.context["adminform"].form.errors["content_uk"]
    assert (
        "Every channel message: button 4 label: 24 characters; Facebook Messenger shows at most 20"
        in errors
    )


def test_the_form_offers_choices_not_codes(admin_client):
    page = admin_client.get(ADD).text
    assert '<option value="order.delivered">Order delivered</option>' in page
    assert '<option value="4">Friday</option>' in page
    assert '<option value="11:00:00">11:00</option>' in page
    assert "Share of the audience kept back on purpose" in page
    assert "at most 2 marketing messages in 7 days" in page
    assert "campaigns/builder.js" in page


@pytest.mark.parametrize("starter", ["weekly_menu", "survey"])
def test_templates_come_in_three_languages_and_save_as_they_are(admin_client, starter):
    page = admin_client.get(f"{ADD}?template={starter}")
    form = page.context["adminform"].form
    for field in ("content", "content_ru", "content_uk"):
        assert form[field].value()
    text = html_unescape(page.text)
    assert "Привіт" in text or "як вам" in text or "меню на наступний" in text
    data = {name: form[name].value() for name in ("content", "content_ru", "content_uk")}
    assert not any(content_errors(json.loads(v)) for v in data.values())


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


@pytest.mark.parametrize(
    ("reason", "phrase"),
    [
        ("holdout", "held out to measure the campaign's effect"),
        ("already_ordered", "already ordered for the coming week"),
        ("topic surveys not consented", "did not choose to get surveys"),
        ("whatsapp window closed, no template", "whatsapp: the 24-hour window is closed and "
         "the campaign has no approved template"),
        ("some_new_code", "some new code"),
    ],
)  # fmt: skip
def test_reasons_read_as_phrases(reason, phrase):
    assert reason_phrase(reason) == phrase


def test_the_deliveries_list_shows_the_customer_name_and_the_reason_in_words(admin_client):
    customer = CustomerFactory(name="Olena Kovalenko")
    DeliveryFactory(
        subscription=SubscriptionFactory(customer=customer), state="skipped", reason="holdout"
    )
    page = admin_client.get("/admin/campaigns/delivery/").text
    assert "Olena Kovalenko" in page
    assert "held out to measure the campaign&#x27;s effect" in page
