"""Messenger sends against the fake Graph API over HTTP: request shapes, policy, error classes."""

import pytest

from channels.errors import (
    ConfigurationError,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.messages import Button, Card, RichMessage
from channels.providers.base import SendOptions
from tests.channels.sending import failed_send, sent_json

PSID = "24011849251814325"
TOKEN = "tok_6rX0aQbV2nH8sLk4PzW1yE"


@pytest.fixture
def messenger(account_on):
    return account_on("messenger").provider()


def test_it_sends_a_text_to_the_page_messages_edge(messenger, fake_platform):
    message_id = messenger.send(PSID, RichMessage(text="Your order is on its way"))

    [call] = fake_platform.requests_for("messenger")
    assert call.path == "/v25.0/1000001/messages"
    assert call.query["access_token"] == "EAAG-page-token"
    assert call.json == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Your order is on its way"},
    }
    assert message_id.startswith("m_")


def test_it_marks_a_campaign_inside_the_window_as_an_update(messenger, fake_platform):
    messenger.send(PSID, RichMessage(text="New menu!"), SendOptions(category="marketing"))

    assert sent_json(fake_platform, "messenger")[0]["messaging_type"] == "UPDATE"


def test_it_cuts_a_long_text_to_the_limit(messenger, fake_platform):
    messenger.send(PSID, RichMessage(text="x" * 5000))

    text = sent_json(fake_platform, "messenger")[0]["message"]["text"]
    assert len(text) == 2000
    assert text.endswith("…")


def test_it_sends_the_text_before_the_image(messenger, fake_platform):
    message_id = messenger.send(
        PSID, RichMessage(text="Lasagne tonight", image_url="https://cdn.test/l.jpg")
    )

    first, second = sent_json(fake_platform, "messenger")
    assert first["message"] == {"text": "Lasagne tonight"}
    assert second["message"] == {
        "attachment": {"type": "image", "payload": {"url": "https://cdn.test/l.jpg"}}
    }
    assert second["recipient"] == {"id": PSID}
    assert message_id != ""


def test_it_sends_buttons_as_a_button_template(messenger, fake_platform):
    message = RichMessage(
        text="How was your meal?",
        buttons=(Button("Great", payload="RATE_5"), Button("Menu", url="https://shop.test/m")),
    )

    messenger.send(PSID, message)

    [body] = sent_json(fake_platform, "messenger")
    assert body["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "How was your meal?",
                "buttons": [
                    {"type": "postback", "title": "Great", "payload": "RATE_5"},
                    {"type": "web_url", "url": "https://shop.test/m", "title": "Menu"},
                ],
            },
        }
    }


def test_it_moves_postbacks_beyond_three_to_quick_replies_keeping_url_buttons(
    messenger, fake_platform
):
    buttons = tuple(Button(f"Score {n}", payload=f"S{n}") for n in range(1, 5))
    message = RichMessage(text="Rate us", buttons=(*buttons, Button("Site", url="https://s.test")))

    messenger.send(PSID, message)

    [body] = sent_json(fake_platform, "messenger")
    template = body["message"]["attachment"]["payload"]
    assert [b["title"] for b in template["buttons"]] == ["Score 1", "Score 2", "Site"]
    assert [q["payload"] for q in body["message"]["quick_replies"]] == ["S3", "S4"]


def test_it_sends_a_text_too_long_for_the_template_on_its_own_first(messenger, fake_platform):
    messenger.send(PSID, RichMessage(text="y" * 700, buttons=(Button("OK", payload="OK"),)))

    first, second = sent_json(fake_platform, "messenger")
    assert first["message"] == {"text": "y" * 700}
    assert second["message"]["attachment"]["payload"]["text"] == "👇"


def test_it_sends_a_carousel_as_a_generic_template(messenger, fake_platform):
    cards = tuple(
        Card(
            title=f"Dish {n}",
            subtitle="Fresh",
            image_url=f"https://cdn.test/{n}.jpg",
            buttons=(Button("Order", payload=f"ORDER_{n}"),),
        )
        for n in range(12)
    )

    messenger.send(PSID, RichMessage(cards=cards))

    [body] = sent_json(fake_platform, "messenger")
    payload = body["message"]["attachment"]["payload"]
    assert payload["template_type"] == "generic"
    assert len(payload["elements"]) == 10
    assert payload["elements"][0] == {
        "title": "Dish 0",
        "subtitle": "Fresh",
        "image_url": "https://cdn.test/0.jpg",
        "buttons": [{"type": "postback", "title": "Order", "payload": "ORDER_0"}],
    }


@pytest.mark.parametrize(
    ("title", "subtitle", "element"),
    [
        ("", "Fresh", {"title": "Fresh"}),
        (" ", "", {"title": "…"}),
    ],
)
def test_it_gives_a_card_without_a_title_one(messenger, fake_platform, title, subtitle, element):
    # The fake, like Messenger, refuses a generic template element without a title.
    card = Card(title=title, subtitle=subtitle, buttons=(Button("", payload=""),))

    messenger.send(PSID, RichMessage(cards=(card,)))

    [body] = sent_json(fake_platform, "messenger")
    [sent_element] = body["message"]["attachment"]["payload"]["elements"]
    button = {"type": "postback", "title": "…", "payload": "~e3b0c442"}
    assert sent_element == {**element, "buttons": [button]}


def test_it_attaches_quick_replies_to_the_last_message(messenger, fake_platform):
    message = RichMessage(
        text="Hi", image_url="https://cdn.test/a.jpg", quick_replies=(Button("Yes", payload="Y"),)
    )

    messenger.send(PSID, message)

    first, second = sent_json(fake_platform, "messenger")
    assert "quick_replies" not in first["message"]
    assert second["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Yes", "payload": "Y"}
    ]


def test_it_tags_an_order_update_outside_the_window(messenger, fake_platform):
    options = SendOptions(outside_window=True, category="service")

    messenger.send(PSID, RichMessage(text="Your order shipped"), options)

    [body] = sent_json(fake_platform, "messenger")
    assert body["messaging_type"] == "MESSAGE_TAG"
    assert body["tag"] == "POST_PURCHASE_UPDATE"


@pytest.mark.parametrize("category", ["survey", "marketing"])
def test_it_refuses_a_survey_or_campaign_outside_the_window_without_a_request(
    messenger, fake_platform, category
):
    options = SendOptions(outside_window=True, category=category)

    with pytest.raises(RejectedByPolicy, match="window closed"):
        messenger.send(PSID, RichMessage(text="How did we do?"), options)

    assert fake_platform.requests == []


def test_it_refuses_an_empty_message_without_a_request(messenger, fake_platform):
    failed_send(messenger, PSID, RejectedByPolicy, message=RichMessage(), match="empty")

    assert fake_platform.requests == []


# Every Messenger error code named in PLATFORMS.md §2 and the error-codes page.
@pytest.mark.parametrize(
    ("code", "subcode", "status", "expected"),
    [
        (551, 1545041, 400, RecipientGone),
        (551, None, 400, RecipientGone),
        (200, 1545041, 403, RecipientGone),
        # Code 2 only "possibly" means blocked: gone only with the "not available" subcode.
        (2, None, 400, Transient),
        (2, None, 500, Transient),
        (2, 1545041, 400, RecipientGone),
        (2, 1545041, 500, Transient),
        (10, 2018278, 400, RejectedByPolicy),
        (10, 1893063, 400, ConfigurationError),
        (613, None, 400, RetryAfter),
        (4, None, 400, RetryAfter),
        (32, None, 400, RetryAfter),
        (9, 2018352, 400, RetryAfter),
        (4, 2018354, 400, RetryAfter),
        (1200, None, 500, Transient),
        (190, None, 401, ConfigurationError),
        (100, 33, 400, ConfigurationError),
        (100, None, 400, RejectedByPolicy),
    ],
)
def test_it_classifies_each_graph_error(messenger, fake_platform, code, subcode, status, expected):
    error = {"message": f"(#{code}) test", "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    fake_platform.error("messenger", {"error": error}, status)

    error = failed_send(messenger, PSID, expected)

    assert error.code.startswith(str(code))
    if expected is RetryAfter:
        assert error.seconds == 60
    if expected is Transient:
        assert error.maybe_sent is False


def test_it_reports_a_person_who_blocked_the_page_as_gone(messenger, fake_platform):
    fake_platform.block(PSID)

    failed_send(messenger, PSID, RecipientGone, match="isn't available")


def test_it_pauses_when_the_page_is_rate_limited(messenger, fake_platform):
    fake_platform.set_rate_limit("EAAG-page-token", 1)
    messenger.send(PSID, RichMessage(text="one"))

    error = failed_send(messenger, PSID, RetryAfter, message=RichMessage(text="two"))

    assert error.code == "613"


def test_it_reports_a_half_sent_message_as_maybe_sent(messenger, fake_platform):
    fake_platform.set_rate_limit("EAAG-page-token", 1)  # the second part is refused
    message = RichMessage(text="Lasagne tonight", image_url="https://cdn.test/l.jpg")

    error = failed_send(messenger, PSID, Transient, message=message)

    assert error.maybe_sent is True
    assert "sent 1 of 2 parts" in error.reason
    assert [r.answered for r in fake_platform.requests_for("messenger")] == [200, 429]


def test_it_reports_a_server_error_as_transient(messenger, fake_platform):
    fake_platform.fail(status=503, count=1)

    failed_send(messenger, PSID, Transient)


def test_it_links_to_the_page_with_the_token_as_ref(messenger):
    assert messenger.deep_link(TOKEN) == f"https://m.me/comebackshop?ref={TOKEN}"


def test_it_links_by_page_id_without_a_username(account_on):
    provider = account_on("messenger", credentials={"page_id": "1000001"}).provider()

    assert provider.deep_link("a-b_c") == "https://m.me/1000001?ref=a-b_c"


def test_it_subscribes_the_page_to_the_messaging_fields(messenger, fake_platform):
    messenger.register_webhook("https://comeback.test/hooks/shop-messenger/")

    [call] = fake_platform.requests_for("messenger")
    assert call.path == "/v25.0/1000001/subscribed_apps"
    assert call.query["access_token"] == "EAAG-page-token"
    assert call.query["subscribed_fields"].split(",") == [
        "messages",
        "messaging_postbacks",
        "messaging_referrals",
        "message_deliveries",
        "message_reads",
        "messaging_optins",
    ]


def test_it_turns_a_refused_subscription_into_a_configuration_error(messenger, fake_platform):
    fake_platform.error("messenger", {"error": {"code": 613, "message": "slow down"}}, 400)

    with pytest.raises(ConfigurationError, match="subscribed_apps refused"):
        messenger.register_webhook("https://comeback.test/hooks/shop-messenger/")
