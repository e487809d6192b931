"""Preview on every messenger, connected or not, for a real recent order; live from the
form's draft through a JSON endpoint."""

import json
import re

import pytest

from campaigns.content import TIMES as X
from campaigns.preview import CHANNELS
from tests.factories import CampaignFactory, CustomerFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db
LIVE = "/admin/campaigns/campaign/preview/live/"
DRAFT = {
    "content": {
        "default": {
            "text": "Hi {name}, order {order}: {items}",
            "buttons": [{"text": "Menu", "url": "{link}"}, {"text": "Later", "payload": "later"}],
        }
    },
    "content_uk": {"default": {"text": "Привіт {name}, замовлення {order}: {items}"}},
    "category": "marketing",
    "link_url": "https://shop.example/menu",
}


@pytest.fixture
def order():
    customer = CustomerFactory(name="Оксана", locale="uk-UA")
    order = OrderFactory(customer=customer, external_id="A-77", items=0)
    OrderItemFactory(order=order, name="Fit 5 days", quantity=2)
    return order


def post(client, draft):
    return client.post(LIVE, json.dumps(draft), content_type="application/json")


def test_every_messenger_previews_without_any_account_and_fills_every_placeholder(admin_client):
    answer = post(admin_client, DRAFT)
    assert answer.status_code == 200
    previews = answer.json()["previews"]
    assert [p["kind"] for p in previews] == list(CHANNELS)
    assert [p.get("error") for p in previews] == [None] * len(CHANNELS)
    assert not any(p["connected"] for p in previews if p["kind"] != "sandbox")
    text = previews[0]["message"]["text"]
    assert text == f"Hi Alex, order 10042: 2 {X} Fit 5 days, 1 {X} Detox juice"  # made up
    bodies = json.dumps([p["body"] for p in previews], ensure_ascii=False)
    assert not re.search(r"\{(name|order|items|link|delivery)\}", bodies)


def test_it_uses_a_real_recent_order_and_the_customers_language(admin_client, order):
    previews = post(admin_client, {**DRAFT, "order": order.pk}).json()["previews"]
    telegram = next(p for p in previews if p["kind"] == "telegram")
    assert telegram["language"] == "uk"
    assert telegram["message"]["text"] == f"Привіт Оксана, замовлення A-77: 2 {X} Fit 5 days"
    assert telegram["body"][0]["text"] == telegram["message"]["text"]
    # Picking English shows the default (there is no en variant).
    english = post(admin_client, {**DRAFT, "order": order.pk, "language": "en"}).json()
    assert english["previews"][0]["language"] == "default"


def test_each_platform_applies_its_own_limits(admin_client):
    long_button = {"default": {"text": "Hi", "buttons": [{"text": "A" * 30, "payload": "x"}]}}
    previews = post(admin_client, {**DRAFT, "content": long_button}).json()["previews"]
    bodies = {p["kind"]: json.dumps(p["body"], ensure_ascii=False) for p in previews}
    assert "A" * 30 in bodies["telegram"]
    assert "A" * 30 not in bodies["messenger"]  # cut to Messenger's 20 characters


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        ({"content": ["not", "an", "object"]}, "content"),
        ({"content_uk": "text"}, "content_uk"),
        ({"category": "spam"}, "category"),
        ({"language": "de"}, "language"),
    ],
)
def test_a_bad_draft_is_a_400_naming_the_field(admin_client, draft, field):
    answer = post(admin_client, {**DRAFT, **draft})
    assert answer.status_code == 400
    assert field in answer.json()["fields"]


def test_the_live_preview_is_for_staff_only(client):
    assert post(client, DRAFT).status_code == 302  # to the login page


def test_the_saved_campaigns_preview_page_offers_recent_orders(admin_client, order):
    campaign = CampaignFactory(content=DRAFT["content"])
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/preview/?order={order.pk}")
    assert page.status_code == 200
    assert "A-77" in page.text
    assert page.text.count("not connected") >= 5  # the sandbox may be there out of the box


def test_each_bubble_is_what_the_platform_shows_after_its_limits(admin_client, order):
    # given a message past several platforms' limits: a 25-character label, four buttons, a
    # quick reply
    long_label = "Open this week's full menu"
    draft = {
        **DRAFT,
        "content_uk": None,
        "content": {
            "default": {
                "text": "Menu {order}",
                "buttons": [
                    {"text": long_label, "url": "{link}"},
                    {"text": "B2", "payload": "b2"},
                    {"text": "B3", "payload": "b3"},
                    {"text": "B4", "payload": "b4"},
                ],
                "quick_replies": [{"text": "Later", "payload": "later"}],
            }
        },
    }
    shown = {p["kind"]: p["shown"] for p in post(admin_client, draft).json()["previews"]}

    # then Messenger's template keeps three buttons, its label cut to 20, the fourth a quick reply
    [messenger] = shown["messenger"]
    assert [b["text"] for b in messenger["buttons"]] == ["Open this week's fu…", "B2", "B3"]
    assert messenger["quick_replies"] == ["Later", "B4"]
    # and WhatsApp, with a link and more than three replies, folds the link into the text and
    # offers the replies as a list behind one button
    [whatsapp] = shown["whatsapp"]
    assert whatsapp["text"].startswith("Menu A-77\n\nOpen this week's fu…: https://")
    assert whatsapp["menu"]["rows"] == ["B2", "B3", "B4", "Later"]
    assert whatsapp["buttons"] == []
    # and Telegram shows every button under the text, the quick reply as one more
    [telegram] = shown["telegram"]
    assert [b["text"] for b in telegram["buttons"]] == [long_label, "B2", "B3", "B4", "Later"]
    assert telegram["buttons"][0]["url"].startswith("https://")
    # and every platform shows the filled text
    for kind in ("telegram", "messenger", "viber", "vk"):
        assert shown[kind][0]["text"] == "Menu A-77", kind


def test_cards_show_as_each_platform_sends_them(admin_client, order):
    cards = [
        {"title": "Soup", "subtitle": "Hot", "image_url": "https://shop.example/s.png",
         "buttons": [{"text": "Order", "url": "{link}"}]},
        {"title": "Salad", "buttons": [{"text": "Pick", "payload": "pick"}]},
    ]  # fmt: skip
    draft = {**DRAFT, "content_uk": None, "content": {"default": {"text": "Menu", "cards": cards}}}
    shown = {p["kind"]: p["shown"] for p in post(admin_client, draft).json()["previews"]}

    # a carousel where the platform has one (Messenger, Viber, VK)
    for kind in ("messenger", "viber", "vk"):
        bubbles = [b for b in shown[kind] if b["cards"]]
        assert [c["title"] for c in bubbles[0]["cards"]] == ["Soup", "Salad"], kind
        assert bubbles[0]["cards"][0]["buttons"][0]["text"] == "Order", kind
    assert shown["messenger"][1]["cards"][0]["image_url"] == "https://shop.example/s.png"
    # and a message per card where it has none (Telegram, WhatsApp)
    for kind in ("telegram", "whatsapp"):
        assert [b["text"] for b in shown[kind]] == ["Menu", "Soup\nHot", "Salad"], kind
        assert shown[kind][1]["image_url"] == "https://shop.example/s.png", kind
        assert [b["text"] for b in shown[kind][2]["buttons"]] == ["Pick"], kind
