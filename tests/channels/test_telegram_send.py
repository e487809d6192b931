"""Telegram sends and webhook registration against the fake platform, over real HTTP."""

import pytest

from channels.errors import (
    ConfigurationError,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.messages import Button, Card, RichMessage
from channels.models import ChannelAccount
from channels.providers.telegram.render import callback_data
from tests.channels.connecting import connect_channel
from tests.channels.sending import assert_fails_as, failed_send
from tests.factories import CREDENTIALS

CHAT = "5550001"
TOKEN = CREDENTIALS["telegram"]["token"]


@pytest.fixture
def provider(account_on):
    return account_on("telegram").provider()


def test_it_sends_a_text_and_returns_the_message_id(provider, fake_platform):
    message_id = provider.send(CHAT, RichMessage(text="Your set is on its way 🚚"))

    [request] = fake_platform.requests_for("telegram")
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json == {"chat_id": CHAT, "text": "Your set is on its way 🚚"}
    assert request.answered == 200
    assert message_id == "1"


def test_it_sends_an_image_with_its_caption(provider, fake_platform):
    provider.send(CHAT, RichMessage(text="This week", image_url="https://cdn.test/menu.jpg"))

    [request] = fake_platform.requests_for("telegram")
    assert request.kind == "sendPhoto"
    assert request.json == {
        "chat_id": CHAT,
        "photo": "https://cdn.test/menu.jpg",
        "caption": "This week",
    }


def test_it_sends_text_too_long_for_a_caption_after_the_photo(provider, fake_platform):
    text = "menu " * 300  # 1,500 characters: over the 1,024 caption limit
    buttons = (Button("Order", url="https://shop.test/order"),)

    message_id = provider.send(
        CHAT, RichMessage(text=text, image_url="https://cdn.test/m.jpg", buttons=buttons)
    )

    photo, message = fake_platform.requests_for("telegram")
    assert photo.kind == "sendPhoto" and photo.json["caption"] == ""
    assert "reply_markup" not in photo.json
    assert message.kind == "sendMessage" and message.json["text"] == text
    assert message.json["reply_markup"] == {
        "inline_keyboard": [[{"text": "Order", "url": "https://shop.test/order"}]]
    }
    assert message_id == "2"  # the last part, the one with the buttons


def test_it_renders_buttons_one_per_row_and_quick_replies_in_one_row(provider, fake_platform):
    message = RichMessage(
        text="How was your set?",
        buttons=(Button("Menu", url="https://shop.test/menu"), Button("Call me", payload="call")),
        quick_replies=tuple(Button(str(n), payload=f"csat:42:{n}") for n in range(1, 6)),
    )

    provider.send(CHAT, message)

    [request] = fake_platform.requests_for("telegram")
    assert request.json["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Menu", "url": "https://shop.test/menu"}],
            [{"text": "Call me", "callback_data": "call"}],
            [{"text": str(n), "callback_data": f"csat:42:{n}"} for n in range(1, 6)],
        ]
    }


def test_it_sends_a_long_button_payload_in_a_stable_short_form(provider, fake_platform):
    long = "survey:" + "очень-длинный-идентификатор-кампании" * 3  # Cyrillic: 2 bytes a letter

    provider.send(CHAT, RichMessage(text="?", buttons=(Button("Yes", payload=long),)))

    [request] = fake_platform.requests_for("telegram")
    data = request.json["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert request.answered == 200
    assert len(data.encode()) <= 64
    assert data == callback_data(long)
    assert data != callback_data(long + "!")


def test_it_degrades_a_carousel_to_one_photo_per_card(provider, fake_platform):
    cards = (
        Card(
            "Borscht", "with sour cream", "https://cdn.test/1.jpg", (Button("Add", payload="a:1"),)
        ),
        Card("Plov", "", "https://cdn.test/2.jpg", (Button("Add", payload="a:2"),)),
        Card("Tea", "no image"),
    )

    message_id = provider.send(CHAT, RichMessage(text="Next week's menu", cards=cards))

    intro, first, second, third = fake_platform.requests_for("telegram")
    assert intro.json == {"chat_id": CHAT, "text": "Next week's menu"}
    assert first.json == {
        "chat_id": CHAT,
        "photo": "https://cdn.test/1.jpg",
        "caption": "Borscht\nwith sour cream",
        "reply_markup": {"inline_keyboard": [[{"text": "Add", "callback_data": "a:1"}]]},
    }
    assert (second.kind, second.json["caption"]) == ("sendPhoto", "Plov")
    assert (third.kind, third.json["text"]) == ("sendMessage", "Tea\nno image")
    assert message_id == "4"


def test_it_refuses_to_send_an_empty_message(provider, fake_platform):
    failed_send(provider, CHAT, RejectedByPolicy, message=RichMessage())

    assert fake_platform.requests_for("telegram") == []


def telegram_error(code: int, description: str, **extra) -> dict:
    return {"ok": False, "error_code": code, "description": description, **extra}


# Every error PLATFORMS.md lists for Telegram, answered exactly as the Bot API would.
ERRORS = [
    (403, "Forbidden: bot was blocked by the user", RecipientGone),
    (403, "Forbidden: user is deactivated", RecipientGone),
    (403, "Forbidden: bot can't initiate conversation with a user", RecipientGone),
    (401, "Unauthorized", ConfigurationError),
    (404, "Not Found", ConfigurationError),
    (400, "Bad Request: message text is empty", RejectedByPolicy),
    (400, "Bad Request: BUTTON_DATA_INVALID", RejectedByPolicy),
    (400, "Bad Request: chat not found", RecipientGone),
]


@pytest.mark.parametrize(("status", "description", "error"), ERRORS)
def test_it_classifies_each_documented_error(provider, fake_platform, status, description, error):
    fake_platform.error("telegram", telegram_error(status, description), status)

    assert_fails_as(provider, CHAT, error, description, str(status))


def test_it_reports_a_revoked_token_as_configuration_error(account_on, fake_platform):
    account = account_on("telegram", credentials={"token": "bad:revoked", "username": "b_bot"})

    failed_send(account.provider(), CHAT, ConfigurationError, match="Unauthorized")


def test_it_turns_429_into_retry_after_with_the_given_seconds(provider, fake_platform):
    body = telegram_error(429, "Too Many Requests: retry after 7", parameters={"retry_after": 7})
    fake_platform.error("telegram", body, 429)

    assert failed_send(provider, CHAT, RetryAfter).seconds == 7


def test_it_turns_the_fake_rate_limit_into_retry_after(provider, fake_platform):
    fake_platform.set_rate_limit(TOKEN, 1)
    provider.send(CHAT, RichMessage(text="first"))

    error = failed_send(provider, CHAT, RetryAfter, message=RichMessage(text="second"))

    assert error.seconds >= 1


def test_it_reports_a_blocked_recipient_as_gone(provider, fake_platform):
    fake_platform.block(CHAT, platform="telegram")

    failed_send(provider, CHAT, RecipientGone, match="blocked")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_treats_5xx_as_transient_and_not_sent(provider, fake_platform, status):
    fake_platform.fail(status, count=1, platform="telegram")

    assert failed_send(provider, CHAT, Transient).maybe_sent is False


def test_it_reports_a_failure_after_a_first_part_as_maybe_sent(provider, fake_platform):
    # The photo goes out, then the text is throttled: a retry would repeat the photo.
    throttled = telegram_error(
        429, "Too Many Requests: retry after 3", parameters={"retry_after": 3}
    )
    fake_platform.error("telegram", {"ok": True, "result": {"message_id": 9}}, 200)
    fake_platform.error("telegram", throttled, 429)
    message = RichMessage(text="x" * 2000, image_url="https://cdn.test/m.jpg")

    error = failed_send(provider, CHAT, Transient, message=message)

    assert error.maybe_sent is True
    assert "sent 1 of 2 parts" in error.reason
    assert [r.kind for r in fake_platform.requests_for("telegram")] == ["sendPhoto", "sendMessage"]


def test_it_registers_the_webhook_with_its_secret_token(provider, fake_platform):
    provider.register_webhook("https://comeback.test/hooks/shop-telegram/")

    [request] = fake_platform.requests_for("telegram")
    assert request.kind == "setWebhook"
    assert request.json == {
        "url": "https://comeback.test/hooks/shop-telegram/",
        "secret_token": provider.account.webhook_secret,
        "allowed_updates": ["message", "callback_query", "my_chat_member"],
    }


def test_it_raises_configuration_error_when_the_webhook_is_refused(provider, fake_platform):
    with pytest.raises(ConfigurationError, match="HTTPS URL must be provided"):
        provider.register_webhook("http://insecure.test/hooks/shop-telegram/")


def test_connect_channel_registers_the_webhook_and_prints_its_url(fake_platform, db):
    lines = connect_channel(
        "telegram", "shop-tg", "--api-base", fake_platform.url, credentials=CREDENTIALS["telegram"]
    )

    account = ChannelAccount.objects.get(name="shop-tg")
    [request] = fake_platform.requests_for("telegram")
    assert request.kind == "setWebhook"
    assert request.json["url"] == "https://comeback.test/hooks/shop-tg/"
    assert request.json["secret_token"] == account.webhook_secret
    assert "https://comeback.test/hooks/shop-tg/" in lines
