"""Viber sends and webhook registration against the fake platform, over real HTTP."""

import pytest

from channels.errors import (
    ConfigurationError,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.messages import Button, Card, RichMessage
from channels.providers.viber.provider import EVENT_TYPES, RATE_RETRY_SECONDS
from tests.channels.connecting import connect_channel
from tests.channels.sending import assert_fails_as, failed_send
from tests.factories import CREDENTIALS

USER = "pttm25kSGUo1919sBORWyA=="
AUTH_TOKEN = CREDENTIALS["viber"]["auth_token"]
SENDER = {"name": "shop-viber"}


@pytest.fixture
def provider(account_on):
    return account_on("viber").provider()


def test_it_sends_a_text_and_returns_the_exact_message_token(provider, fake_platform):
    token = provider.send(USER, RichMessage(text="Your set is on its way 🚚"))

    [request] = fake_platform.requests_for("viber")
    assert request.path == "/pa/send_message"
    assert request.headers["x-viber-auth-token"] == AUTH_TOKEN
    assert request.json == {
        "receiver": USER,
        "sender": SENDER,
        "type": "text",
        "text": "Your set is on its way 🚚",
    }
    # The fake's tokens start above 2**53: a float on the way would lose the last digits.
    assert token == "5000000000000000000"


def test_it_sends_a_message_of_the_longest_text_within_the_request_cap(provider, fake_platform):
    # Given 7,000 emoji: within Viber's character limit, but 28 KB before the keyboard
    buttons = tuple(Button("👍" * 100, payload=f"rate:{n}") for n in range(10))

    # When it is sent (the fake, like Viber, refuses a request over 30 KB)
    provider.send(USER, RichMessage(text="🍲" * 7000, buttons=buttons))

    # Then it goes out as compact UTF-8 JSON under the cap, the text cut and marked
    [request] = fake_platform.requests_for("viber")
    assert len(request.body) <= 30_000
    assert request.headers["content-type"] == "application/json"
    assert request.json["text"].endswith("🍲…")
    assert len(request.json["keyboard"]["Buttons"]) == 10


def test_it_sends_an_image_with_its_caption(provider, fake_platform):
    provider.send(USER, RichMessage(text="This week", image_url="https://cdn.test/menu.jpg"))

    [request] = fake_platform.requests_for("viber")
    assert request.json == {
        "receiver": USER,
        "sender": SENDER,
        "type": "picture",
        "media": "https://cdn.test/menu.jpg",
        "text": "This week",
    }


def test_it_sends_text_too_long_for_a_caption_after_the_picture(provider, fake_platform):
    text = "menu " * 200  # 1,000 characters: over the 512 caption limit

    provider.send(USER, RichMessage(text=text, image_url="https://cdn.test/m.jpg"))

    picture, message = fake_platform.requests_for("viber")
    assert (picture.json["type"], picture.json["text"]) == ("picture", "")
    assert (message.json["type"], message.json["text"]) == ("text", text)


def test_it_renders_buttons_and_quick_replies_as_a_keyboard(provider, fake_platform):
    message = RichMessage(
        text="How was your set?",
        buttons=(Button("Menu", url="https://shop.test/menu"), Button("Call me", payload="call")),
        quick_replies=tuple(Button(str(n), payload=f"csat:42:{n}") for n in range(1, 4)),
    )

    provider.send(USER, message)

    [request] = fake_platform.requests_for("viber")
    keyboard = request.json["keyboard"]
    assert keyboard["Type"] == "keyboard"
    assert keyboard["Buttons"] == [
        {
            "Columns": 6,
            "Rows": 1,
            "Text": "Menu",
            "ActionType": "open-url",
            "ActionBody": "https://shop.test/menu",
        },
        {
            "Columns": 6,
            "Rows": 1,
            "Text": "Call me",
            "ActionType": "reply",
            "ActionBody": "cb:call",
            "Silent": True,
        },
        *(
            {
                "Columns": 2,
                "Rows": 1,
                "Text": str(n),
                "ActionType": "reply",
                "ActionBody": f"cb:csat:42:{n}",
                "Silent": True,
            }
            for n in range(1, 4)
        ),
    ]


def test_it_sends_a_carousel_as_rich_media(provider, fake_platform):
    add = (Button("Add", payload="a:1"),)
    cards = (
        Card("Borscht", "with sour cream", "https://cdn.test/1.jpg", add),
        Card("Plov", "", "https://cdn.test/2.jpg", (*add, Button("More", url="https://s.test/2"))),
    )

    provider.send(USER, RichMessage(cards=cards))

    [request] = fake_platform.requests_for("viber")
    body = request.json
    assert (body["type"], body["min_api_version"]) == ("rich_media", 2)
    rich = body["rich_media"]
    assert (rich["Type"], rich["ButtonsGroupColumns"], rich["ButtonsGroupRows"]) == (
        "rich_media",
        6,
        7,  # image 3 + title 2 + two button rows
    )
    image, title, button, filler = rich["Buttons"][:4]
    assert image == {
        "Columns": 6,
        "Rows": 3,
        "ActionType": "none",
        "Image": "https://cdn.test/1.jpg",
    }
    assert title["Text"] == "<b>Borscht</b><br>with sour cream"
    assert (button["ActionType"], button["ActionBody"]) == ("reply", "cb:a:1")
    assert (filler["Rows"], filler["ActionType"]) == (1, "none")  # card 1 has one button less
    assert [cell["Rows"] for cell in rich["Buttons"][4:]] == [3, 2, 1, 1]


def test_it_refuses_to_send_an_empty_message(provider, fake_platform):
    failed_send(provider, USER, RejectedByPolicy, message=RichMessage(text="   "))

    assert fake_platform.requests_for("viber") == []


# Every send status PLATFORMS.md lists for Viber (HTTP 200, error in `status`).
STATUSES = [
    (1, "invalidUrl", ConfigurationError),
    (2, "invalidAuthToken", ConfigurationError),
    (3, "badData", RejectedByPolicy),
    (4, "missingData", RejectedByPolicy),
    (5, "receiverNotRegistered", RecipientGone),
    (6, "notSubscribed", RecipientGone),
    (7, "publicAccountBlocked", RecipientGone),
    (8, "publicAccountNotFound", RecipientGone),
    (9, "publicAccountSuspended", RecipientGone),
    (10, "webhookNotSet", ConfigurationError),
    (11, "receiverNoSuitableDevice", RecipientGone),
    (13, "apiVersionNotSupported", RejectedByPolicy),
    (14, "incompatibleWithVersion", RejectedByPolicy),
    (15, "publicAccountNotAuthorized", ConfigurationError),
    (21, "notSupportedInDestinationCountry", RejectedByPolicy),
    (23, "nonBillableBotMonthlyThresholdReached", ConfigurationError),
    (24, "noBalanceForBillableBot", ConfigurationError),
]


@pytest.mark.parametrize(("status", "message", "error"), STATUSES)
def test_it_classifies_each_documented_status(provider, fake_platform, status, message, error):
    fake_platform.error("viber", {"status": status, "status_message": message}, 200)

    assert_fails_as(provider, USER, error, message, str(status))


def test_it_reports_a_revoked_token_as_configuration_error(account_on, fake_platform):
    account = account_on("viber", credentials={"auth_token": "bad-token", "uri": "comeback"})

    failed_send(account.provider(), USER, ConfigurationError, match="invalidAuthToken")


def test_it_turns_status_12_into_retry_after(provider, fake_platform):
    fake_platform.error("viber", {"status": 12, "status_message": "tooManyRequests"}, 200)

    assert failed_send(provider, USER, RetryAfter).seconds == RATE_RETRY_SECONDS


def test_it_turns_the_fake_rate_limit_into_retry_after(provider, fake_platform):
    fake_platform.set_rate_limit(AUTH_TOKEN, 1)
    provider.send(USER, RichMessage(text="first"))

    failed_send(provider, USER, RetryAfter, message=RichMessage(text="second"))


def test_it_reports_an_unsubscribed_recipient_as_gone(provider, fake_platform):
    fake_platform.block(USER, platform="viber")

    failed_send(provider, USER, RecipientGone, match="notSubscribed")


def test_it_treats_5xx_as_transient_and_not_sent(provider, fake_platform):
    fake_platform.fail(503, count=1, platform="viber")

    assert failed_send(provider, USER, Transient).maybe_sent is False


def test_it_registers_the_webhook_with_the_events_it_parses(provider, fake_platform):
    provider.register_webhook("https://comeback.test/hooks/shop-viber/")

    [request] = fake_platform.requests_for("viber")
    assert request.path == "/pa/set_webhook"
    assert request.headers["x-viber-auth-token"] == AUTH_TOKEN
    assert request.json == {
        "url": "https://comeback.test/hooks/shop-viber/",
        "event_types": EVENT_TYPES,
        "send_name": True,
        "send_photo": False,
    }


def test_it_raises_configuration_error_when_the_webhook_is_refused(provider, fake_platform):
    with pytest.raises(ConfigurationError, match="invalidUrl"):
        provider.register_webhook("http://insecure.test/hooks/shop-viber/")


def test_connect_channel_registers_the_webhook_and_prints_its_url(fake_platform, db):
    lines = connect_channel(
        "viber", "shop-vb", "--api-base", fake_platform.url, credentials=CREDENTIALS["viber"]
    )

    [request] = fake_platform.requests_for("viber")
    assert request.path == "/pa/set_webhook"
    assert request.json["url"] == "https://comeback.test/hooks/shop-vb/"
    assert "https://comeback.test/hooks/shop-vb/" in lines
