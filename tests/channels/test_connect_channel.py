"""connect_channel's options and re-runs, against the fake Telegram API over HTTP."""

import pytest
from django.core.management import CommandError

from channels.models import ChannelAccount
from channels.providers.telegram.provider import TelegramProvider
from tests.channels.connecting import connect_channel

TOKEN = "123456:TEST-token"
URL = "https://comeback.test/hooks/shop-tg/"


@pytest.fixture
def connect(db, fake_platform):
    """Run connect_channel for the Telegram account shop-tg; returns its printed lines."""

    def run(*args: str) -> list[str]:
        return connect_channel("telegram", "shop-tg", "--api-base", fake_platform.url, *args)

    return run


def account() -> ChannelAccount:
    return ChannelAccount.objects.get(name="shop-tg")


def test_it_stores_the_rate_limit_given(connect):
    connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot", "--rate-limit", "12.5")

    assert account().rate_limit == 12.5
    assert account().effective_rate_limit == 12.5


def test_it_leaves_the_platform_default_rate_without_the_option(connect):
    connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot")

    assert account().rate_limit is None
    assert account().effective_rate_limit == TelegramProvider.default_rate_limit


@pytest.mark.parametrize("rate", ["0", "-3"])
def test_it_refuses_a_rate_limit_that_is_not_positive_and_saves_nothing(connect, rate):
    with pytest.raises(CommandError, match="--rate-limit must be positive"):
        connect(
            f"--credential=token={TOKEN}", "--credential=username=shop_bot", f"--rate-limit={rate}"
        )

    assert not ChannelAccount.objects.filter(name="shop-tg").exists()


def test_it_saves_without_calling_the_platform_when_told_no_webhook(connect, fake_platform):
    lines = connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot", "--no-webhook")

    assert lines == [URL]
    assert account().credentials == {"token": TOKEN, "username": "shop_bot"}
    assert fake_platform.requests == []


def test_it_updates_an_existing_account_replacing_only_the_credentials_given(
    connect, fake_platform
):
    # Given a connected account with a rate limit
    connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot", "--rate-limit=5")
    first = account()

    # When it is connected again with a new token only
    lines = connect("--credential=token=654321:NEW-token")

    # Then the token is replaced, the username kept, and nothing else reset
    updated = account()
    assert updated.pk == first.pk
    assert updated.credentials == {"token": "654321:NEW-token", "username": "shop_bot"}
    assert (updated.rate_limit, updated.webhook_secret) == (5.0, first.webhook_secret)
    assert ChannelAccount.objects.filter(name="shop-tg").count() == 1
    # And the webhook is registered again, with the new token
    assert [r.token for r in fake_platform.requests_for("telegram")] == [TOKEN, "654321:NEW-token"]
    assert URL in lines


def test_it_disables_and_reenables_an_existing_account(connect):
    connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot", "--disable")
    assert account().enabled is False

    connect()

    assert account().enabled is True


def test_it_refuses_to_turn_an_account_into_another_kind(connect):
    connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot")

    with pytest.raises(CommandError, match="exists with kind 'telegram'"):
        connect_channel("viber", "shop-tg", credentials={"auth_token": "x", "uri": "shop"})

    assert account().kind == "telegram"


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--credential=page_token=x", "unknown credential 'page_token'"),
        ("--credential=token", "expected KEY=VALUE"),
    ],
)
def test_it_refuses_credentials_it_does_not_know(connect, arg, message):
    with pytest.raises(CommandError, match=message):
        connect(f"--credential=token={TOKEN}", "--credential=username=shop_bot", arg)

    assert not ChannelAccount.objects.filter(name="shop-tg").exists()


def test_it_names_the_missing_required_credential(connect, fake_platform):
    with pytest.raises(CommandError, match="telegram needs --credential for: username"):
        connect(f"--credential=token={TOKEN}")

    assert fake_platform.requests == []
