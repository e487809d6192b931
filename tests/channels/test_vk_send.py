"""VK sends and Callback API registration against the fake platform, over real HTTP."""

import json

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
from channels.providers.vk.provider import random_id
from tests.channels.connecting import connect_channel
from tests.channels.sending import assert_fails_as, failed_send
from tests.factories import CREDENTIALS

PEER = "7770001"
TOKEN = CREDENTIALS["vk"]["token"]


@pytest.fixture
def provider(account_on):
    return account_on("vk").provider()


def sent_form(fake_platform) -> dict[str, str]:
    [request] = fake_platform.requests_for("vk")
    assert request.path == "/method/messages.send"
    return request.form


def test_it_sends_a_text_as_a_form_and_returns_the_message_id(provider, fake_platform):
    message_id = provider.send(PEER, RichMessage(text="Ваш сет уже в пути 🚚"))

    form = sent_form(fake_platform)
    assert form == {
        "access_token": TOKEN,
        "v": "5.199",
        "peer_id": PEER,
        "random_id": form["random_id"],
        "message": "Ваш сет уже в пути 🚚",
    }
    assert 0 < int(form["random_id"]) < 2**31
    assert message_id == "1"


def test_it_derives_random_id_from_the_idempotency_key(provider, fake_platform):
    options = SendOptions(idempotency_key="delivery:1234")

    first = provider.send(PEER, RichMessage(text="hi"), options)
    again = provider.send(PEER, RichMessage(text="hi"), options)  # a retry of the same delivery

    one, two = fake_platform.requests_for("vk")
    assert one.form["random_id"] == two.form["random_id"] == str(random_id("delivery:1234"))
    assert two.deduplicated is True  # VK answered with the first message instead of a second
    assert first == again


def test_it_uses_a_fresh_random_id_without_a_key(provider, fake_platform):
    provider.send(PEER, RichMessage(text="one"))
    provider.send(PEER, RichMessage(text="two"))

    one, two = fake_platform.requests_for("vk")
    assert one.form["random_id"] != two.form["random_id"]
    assert not two.deduplicated


@pytest.mark.parametrize(
    ("category", "intent"),
    [
        ("service", "confirmed_notification"),
        ("survey", "non_promo_newsletter"),
        ("marketing", "promo_newsletter"),
    ],
)
def test_it_declares_an_intent_outside_the_window(provider, fake_platform, category, intent):
    options = SendOptions(outside_window=True, category=category)

    provider.send(PEER, RichMessage(text="hi"), options)

    assert sent_form(fake_platform)["intent"] == intent


def test_it_declares_no_intent_inside_the_window(provider, fake_platform):
    provider.send(PEER, RichMessage(text="hi"), SendOptions(category="marketing"))

    assert "intent" not in sent_form(fake_platform)


def test_it_sends_an_image_as_a_link_after_the_text(provider, fake_platform):
    provider.send(PEER, RichMessage(text="Меню недели", image_url="https://cdn.test/menu.jpg"))

    assert sent_form(fake_platform)["message"] == "Меню недели\n\nhttps://cdn.test/menu.jpg"


def test_it_renders_buttons_as_an_inline_keyboard(provider, fake_platform):
    message = RichMessage(
        text="Как вам сет?",
        buttons=(Button("Меню", url="https://shop.test/menu"), Button("Позвоните", payload="call")),
        quick_replies=tuple(Button(str(n), payload=f"csat:42:{n}") for n in range(1, 6)),
    )

    provider.send(PEER, message)

    keyboard = json.loads(sent_form(fake_platform)["keyboard"])
    text = {"type": "text", "label": "Позвоните", "payload": '{"p":"call"}'}
    assert keyboard == {
        "inline": True,
        "buttons": [
            [{"action": {"type": "open_link", "link": "https://shop.test/menu", "label": "Меню"}}],
            [{"action": text, "color": "secondary"}],
            [
                {
                    "action": {
                        "type": "text",
                        "label": str(n),
                        "payload": f'{{"p":"csat:42:{n}"}}',
                    },
                    "color": "secondary",
                }
                for n in range(1, 6)
            ],
        ],
    }


def test_it_sends_a_carousel_as_a_template(provider, fake_platform):
    cards = (
        Card(
            "Борщ",
            "сметана отдельно",
            "https://cdn.test/1.jpg",
            (Button("Добавить", payload="a:1"),),
        ),
        Card("Плов", "", "", (Button("Добавить", payload="a:2"), Button("Ещё", payload="m:2"))),
    )

    provider.send(PEER, RichMessage(text="Меню на неделю", cards=cards))

    form = sent_form(fake_platform)
    assert form["message"] == "Меню на неделю"
    add = {"type": "text", "label": "Добавить"}
    assert json.loads(form["template"]) == {
        "type": "carousel",
        "elements": [
            {
                "title": "Борщ",
                "description": "сметана отдельно",
                "buttons": [{"action": {**add, "payload": '{"p":"a:1"}'}, "color": "secondary"}],
            },
            {
                "title": "Плов",
                "description": "—",
                "buttons": [{"action": {**add, "payload": '{"p":"a:2"}'}, "color": "secondary"}],
            },
        ],
    }


def test_it_refuses_to_send_an_empty_message(provider, fake_platform):
    failed_send(provider, PEER, RejectedByPolicy, message=RichMessage())

    assert fake_platform.requests_for("vk") == []


def vk_error(code: int, message: str) -> dict:
    return {"error": {"error_code": code, "error_msg": message, "request_params": []}}


# Every error PLATFORMS.md lists for VK messages.send, answered as VK does: HTTP 200.
ERRORS = [
    (5, "User authorization failed: invalid access_token (4).", ConfigurationError),
    (7, "Permission to perform this action is denied", ConfigurationError),
    (15, "Access denied: no access to call this method", ConfigurationError),
    (27, "Group authorization failed: method is unavailable with group auth.", ConfigurationError),
    (100, "One of the parameters specified was missing or invalid", RejectedByPolicy),
    (900, "Can't send messages for users from blacklist", RecipientGone),
    (901, "Can't send messages for users without permission", RecipientGone),
    (902, "Can't send messages to this user due to their privacy settings", RecipientGone),
    (911, "Keyboard format is invalid", RejectedByPolicy),
    (914, "Message is too long", RejectedByPolicy),
    (943, "Cannot use this intent", RejectedByPolicy),
    (944, "Limits overflow for this intent", RejectedByPolicy),
    (950, "Can't send message, reply timed out", RejectedByPolicy),
    (985, "Community allows only notifications", RejectedByPolicy),
    (987, "Message request is pending", RejectedByPolicy),
    (988, "Message request was rejected", RejectedByPolicy),
]


@pytest.mark.parametrize(("code", "message", "error"), ERRORS)
def test_it_classifies_each_documented_error(provider, fake_platform, code, message, error):
    fake_platform.error("vk", vk_error(code, message), 200)

    assert_fails_as(provider, PEER, error, message, str(code))


def test_it_reports_a_revoked_token_as_configuration_error(account_on, fake_platform):
    account = account_on("vk", credentials={**CREDENTIALS["vk"], "token": "bad-token"})

    failed_send(account.provider(), PEER, ConfigurationError, match="authorization failed")


@pytest.mark.parametrize(("code", "seconds"), [(6, 1.0), (9, 60.0), (29, 3600.0)])
def test_it_turns_flood_errors_into_retry_after(provider, fake_platform, code, seconds):
    fake_platform.error("vk", vk_error(code, "Too many requests per second"), 200)

    assert failed_send(provider, PEER, RetryAfter).seconds == seconds


def test_it_turns_the_fake_rate_limit_into_retry_after(provider, fake_platform):
    fake_platform.set_rate_limit(TOKEN, 1)
    provider.send(PEER, RichMessage(text="first"))

    error = failed_send(provider, PEER, RetryAfter, message=RichMessage(text="second"))

    assert error.seconds == 1.0


def test_it_reports_a_blocked_recipient_as_gone(provider, fake_platform):
    fake_platform.block(PEER, platform="vk")

    failed_send(provider, PEER, RecipientGone, match="without permission")


def test_it_treats_an_internal_error_as_transient_and_maybe_sent(provider, fake_platform):
    fake_platform.error("vk", vk_error(10, "Internal server error"), 200)

    assert failed_send(provider, PEER, Transient).maybe_sent is True


def test_it_treats_5xx_as_transient_and_not_sent(provider, fake_platform):
    fake_platform.fail(502, count=1, platform="vk")

    assert failed_send(provider, PEER, Transient).maybe_sent is False


def test_it_registers_a_callback_server_for_the_message_events(provider, fake_platform):
    provider.register_webhook("https://comeback.test/hooks/shop-vk/")

    listing, add, settings = fake_platform.requests_for("vk")
    assert listing.kind == "groups.getCallbackServers"
    assert add.kind == "groups.addCallbackServer"
    assert add.form == {
        "access_token": TOKEN,
        "v": "5.199",
        "group_id": "200001",
        "url": "https://comeback.test/hooks/shop-vk/",
        "title": "comeback",
        "secret_key": "vk-callback-secret",
    }
    assert settings.kind == "groups.setCallbackSettings"
    assert settings.form == {
        "access_token": TOKEN,
        "v": "5.199",
        "group_id": "200001",
        "server_id": "1",
        "api_version": "5.199",
        "message_new": "1",
        "message_event": "1",
        "message_allow": "1",
        "message_deny": "1",
        "message_read": "1",
    }


def test_it_reuses_its_callback_server_when_registered_again(provider, fake_platform):
    # connect_channel may run again; VK keeps at most 10 servers per community.
    for _ in range(3):
        provider.register_webhook("https://comeback.test/hooks/shop-vk/")

    kinds = [request.kind for request in fake_platform.requests_for("vk")]
    assert kinds.count("groups.addCallbackServer") == 1
    assert kinds.count("groups.setCallbackSettings") == 3


def test_it_raises_configuration_error_when_vk_refuses(provider, fake_platform):
    fake_platform.error("vk", vk_error(15, "Access denied: no access to call this method"), 200)

    with pytest.raises(ConfigurationError, match="Access denied"):
        provider.register_webhook("https://comeback.test/hooks/shop-vk/")


def test_connect_channel_registers_the_callback_server_and_prints_its_url(fake_platform, db):
    credentials = CREDENTIALS["vk"]

    lines = connect_channel(
        "vk", "shop-vkontakte", "--api-base", fake_platform.url, credentials=credentials
    )

    add = next(r for r in fake_platform.requests_for("vk") if r.kind == "groups.addCallbackServer")
    assert add.form["url"] == "https://comeback.test/hooks/shop-vkontakte/"
    assert add.form["secret_key"] == credentials["secret"]
    assert "https://comeback.test/hooks/shop-vkontakte/" in lines
