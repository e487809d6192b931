"""WhatsApp sends against the fake Cloud API over HTTP: request shapes, policy, error classes."""

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
from tests.factories import CREDENTIALS

TO = "16505551234"
ADDRESSED = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}


@pytest.fixture
def whatsapp(account_on):
    return account_on("whatsapp").provider()


def test_it_sends_a_text_from_the_phone_number_with_a_bearer_token(whatsapp, fake_platform):
    message_id = whatsapp.send(TO, RichMessage(text="Your order is on its way"))

    [call] = fake_platform.requests_for("whatsapp")
    assert call.path == "/v25.0/106540352242922/messages"
    assert call.headers["authorization"] == "Bearer EAAG-wa-token"
    assert "access_token" not in call.query
    assert call.json == {
        **ADDRESSED,
        "type": "text",
        "text": {"body": "Your order is on its way"},
    }
    assert message_id.startswith("wamid.")


def test_it_cuts_a_long_text_to_the_limit(whatsapp, fake_platform):
    whatsapp.send(TO, RichMessage(text="x" * 9000))

    assert len(sent_json(fake_platform, "whatsapp")[0]["text"]["body"]) == 4096


def test_it_sends_an_image_with_its_caption(whatsapp, fake_platform):
    whatsapp.send(TO, RichMessage(text="Lasagne tonight", image_url="https://cdn.test/l.jpg"))

    [body] = sent_json(fake_platform, "whatsapp")
    assert body == {
        **ADDRESSED,
        "type": "image",
        "image": {"link": "https://cdn.test/l.jpg", "caption": "Lasagne tonight"},
    }


def test_it_sends_a_text_too_long_for_a_caption_before_the_image(whatsapp, fake_platform):
    whatsapp.send(TO, RichMessage(text="z" * 1500, image_url="https://cdn.test/l.jpg"))

    first, second = sent_json(fake_platform, "whatsapp")
    assert first["text"] == {"body": "z" * 1500}
    assert second["image"] == {"link": "https://cdn.test/l.jpg"}


def test_it_makes_repeated_button_titles_and_ids_unique(whatsapp, fake_platform):
    # Given three buttons with the same label and payload, and one with neither
    same = Button("Order again", payload="reorder")
    message = RichMessage(text="Again?", buttons=(same, same, Button("", payload="")))

    # When it is sent (the fake, like WhatsApp, refuses repeated titles or ids)
    whatsapp.send(TO, message)

    # Then every reply has its own title and id, none of them empty
    [body] = sent_json(fake_platform, "whatsapp")
    replies = [b["reply"] for b in body["interactive"]["action"]["buttons"]]
    assert replies == [
        {"id": "reorder", "title": "Order again"},
        {"id": "reorder 2", "title": "Order again 2"},
        {"id": "~e3b0c442", "title": "…"},
    ]


def test_it_sends_up_to_three_reply_buttons_with_the_image_as_header(whatsapp, fake_platform):
    message = RichMessage(
        text="How was your meal?",
        image_url="https://cdn.test/l.jpg",
        buttons=(Button("Great", payload="RATE_5"), Button("Meh", payload="RATE_2")),
        quick_replies=(Button("Later", payload="LATER"),),
    )

    whatsapp.send(TO, message)

    [body] = sent_json(fake_platform, "whatsapp")
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "header": {"type": "image", "image": {"link": "https://cdn.test/l.jpg"}},
        "body": {"text": "How was your meal?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "RATE_5", "title": "Great"}},
                {"type": "reply", "reply": {"id": "RATE_2", "title": "Meh"}},
                {"type": "reply", "reply": {"id": "LATER", "title": "Later"}},
            ]
        },
    }


def test_it_sends_more_than_three_reply_buttons_as_a_list(whatsapp, fake_platform):
    buttons = tuple(Button(f"Day {n}", payload=f"DAY_{n}") for n in range(12))

    whatsapp.send(TO, RichMessage(text="Pick a day", buttons=buttons))

    [body] = sent_json(fake_platform, "whatsapp")
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"] == {"text": "Pick a day"}
    assert interactive["action"]["button"] == "☰"
    rows = interactive["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "DAY_0", "title": "Day 0"}
    assert len(rows) == 10


def test_it_sends_a_url_button_as_cta_url_and_lists_the_others(whatsapp, fake_platform):
    message = RichMessage(
        text="This week",
        buttons=(Button("Menu", url="https://s.test/m"), Button("Shop", url="https://s.test")),
    )

    whatsapp.send(TO, message)

    [body] = sent_json(fake_platform, "whatsapp")
    assert body["interactive"] == {
        "type": "cta_url",
        "body": {"text": "This week\n\nShop: https://s.test"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Menu", "url": "https://s.test/m"},
        },
    }


def test_it_lists_url_buttons_in_the_body_of_a_reply_button_message(whatsapp, fake_platform):
    message = RichMessage(
        text="Rate us",
        buttons=(Button("Good", payload="GOOD"), Button("Menu", url="https://s.test/m")),
    )

    whatsapp.send(TO, message)

    [body] = sent_json(fake_platform, "whatsapp")
    assert body["interactive"]["type"] == "button"
    assert body["interactive"]["body"]["text"] == "Rate us\n\nMenu: https://s.test/m"


def test_it_sends_a_carousel_as_one_message_per_card(whatsapp, fake_platform):
    cards = (
        Card("Lasagne", "Thursday", "https://cdn.test/1.jpg", (Button("Order", payload="O1"),)),
        Card("Soup", image_url="https://cdn.test/2.jpg"),
    )

    whatsapp.send(TO, RichMessage(cards=cards))

    first, second = sent_json(fake_platform, "whatsapp")
    assert first["interactive"]["header"] == {
        "type": "image",
        "image": {"link": "https://cdn.test/1.jpg"},
    }
    assert first["interactive"]["body"] == {"text": "Lasagne\nThursday"}
    assert first["interactive"]["action"]["buttons"][0]["reply"]["id"] == "O1"
    assert second["image"] == {"link": "https://cdn.test/2.jpg", "caption": "Soup"}


def test_it_sends_only_the_template_outside_the_window(whatsapp, fake_platform):
    options = SendOptions(outside_window=True, template="weekly_menu", language="de")
    message = RichMessage(text="ignored", buttons=(Button("x", payload="x"),))

    message_id = whatsapp.send(TO, message, options)

    [body] = sent_json(fake_platform, "whatsapp")
    assert body == {
        **ADDRESSED,
        "type": "template",
        "template": {"name": "weekly_menu", "language": {"code": "de"}},
    }
    assert message_id.startswith("wamid.")


def test_it_refuses_outside_the_window_without_a_template_and_without_a_request(
    whatsapp, fake_platform
):
    options = SendOptions(outside_window=True, category="marketing")

    with pytest.raises(RejectedByPolicy, match="no approved template"):
        whatsapp.send(TO, RichMessage(text="New menu!"), options)

    assert fake_platform.requests == []


# Every WhatsApp error code named in PLATFORMS.md §5 and the error-codes page.
@pytest.mark.parametrize(
    ("code", "status", "expected", "seconds"),
    [
        (131026, 400, RecipientGone, None),
        (131050, 400, RejectedByPolicy, None),  # marketing only: service still reaches them
        (131047, 400, RejectedByPolicy, None),
        (131049, 400, RejectedByPolicy, None),
        (131048, 400, RetryAfter, 900),
        (131056, 400, RetryAfter, 6),
        (130429, 400, RetryAfter, 1),
        (131031, 400, ConfigurationError, None),
        (190, 401, ConfigurationError, None),
        (131009, 400, RejectedByPolicy, None),
        (100, 400, RejectedByPolicy, None),
        (131000, 500, Transient, None),
        (1, 400, Transient, None),
        (2, 503, Transient, None),
    ],
)
def test_it_classifies_each_cloud_api_error(
    whatsapp, fake_platform, code, status, expected, seconds
):
    body = {"error": {"message": f"(#{code}) test", "type": "OAuthException", "code": code}}
    fake_platform.error("whatsapp", body, status)

    error = failed_send(whatsapp, TO, expected)

    assert error.code == str(code)
    if seconds is not None:
        assert error.seconds == seconds
    if expected is Transient:
        assert error.maybe_sent is False


def test_it_reports_an_unreachable_customer_as_gone(whatsapp, fake_platform):
    fake_platform.block(TO)

    failed_send(whatsapp, TO, RecipientGone, match="undeliverable")


def test_it_refuses_to_send_with_a_bad_token(account_on, fake_platform):
    provider = account_on(
        "whatsapp", credentials={**CREDENTIALS["whatsapp"], "token": "bad-token"}
    ).provider()

    failed_send(provider, TO, ConfigurationError, match="access token")


WABA_ID = "102290129340398"


def test_it_subscribes_the_app_on_the_business_account(account_on, fake_platform):
    credentials = {**CREDENTIALS["whatsapp"], "waba_id": WABA_ID}
    whatsapp = account_on("whatsapp", credentials=credentials).provider()

    whatsapp.register_webhook("https://comeback.test/hooks/shop-whatsapp/")

    [call] = fake_platform.requests_for("whatsapp")
    assert call.path == f"/v25.0/{WABA_ID}/subscribed_apps"
    assert call.headers["authorization"] == "Bearer EAAG-wa-token"
    assert call.answered == 200


def test_it_refuses_to_register_without_the_business_account_id(whatsapp, fake_platform):
    with pytest.raises(ConfigurationError, match="waba_id"):
        whatsapp.register_webhook("https://comeback.test/hooks/shop-whatsapp/")

    assert fake_platform.requests == []


def test_the_fake_refuses_to_subscribe_a_phone_number_like_the_graph_api(whatsapp, fake_platform):
    # Given a number the fake knows as one: it has sent a message
    whatsapp.send(TO, RichMessage(text="hi"))

    # When an app is subscribed on the phone number id instead of the business account
    with pytest.raises(RejectedByPolicy, match="nonexisting field"):
        whatsapp.graph_post(f"{whatsapp.graph_url}/{whatsapp.node}/subscribed_apps", None)

    # Then it is refused, while the business account's subscription succeeds
    assert whatsapp.graph_post(f"{whatsapp.graph_url}/{WABA_ID}/subscribed_apps", None) == {
        "success": True
    }
