"""Replies under the account's platform pause, against the fake platform over real HTTP."""

import logging
import time
from datetime import UTC, datetime

import pytest

from channels.models import ChannelAccount
from channels.replies import MAX_RETRY_SECONDS, TRANSIENT_RETRY_SECONDS, reply_send
from channels.tasks import send_reply
from subscriptions.models import ConsentEvent, Subscription
from tests.factories import SubscriptionFactory
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.django_db
HELLO = {"text": "Thanks, you are subscribed"}
TELEGRAM_429 = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 30",
    "parameters": {"retry_after": 30},
}


@pytest.fixture
def account(account_on) -> ChannelAccount:
    return account_on("telegram")


def _reply(account: ChannelAccount, *, age: float = 0.0, user: str = "5550001") -> float | None:
    now = time.time()
    return reply_send(
        account_id=account.pk, platform_user_id=user, message=HELLO, first_tried=now - age, now=now
    )


def test_it_sends_a_reply_straight_away(account, fake_platform):
    assert _reply(account) is None

    [request] = fake_platform.requests_for("telegram")
    assert request.json["text"] == HELLO["text"] and request.answered == 200


def test_it_holds_a_reply_while_the_account_is_paused_and_asks_again_within_seconds(
    account, fake_platform
):
    # given an account the platform paused for 30 s (a campaign send met a 429)
    ChannelAccount.objects.filter(pk=account.pk).pause(30)

    wait = _reply(account)

    # then nothing went out, and the reply is re-queued a few seconds out, not 30
    assert fake_platform.requests_for("telegram") == []
    assert wait == MAX_RETRY_SECONDS


def test_it_drops_a_paused_reply_that_would_be_too_old_and_logs_it(
    account, fake_platform, settings, caplog
):
    settings.REPLY_MAX_AGE_SECONDS = 60
    ChannelAccount.objects.filter(pk=account.pk).pause(30)

    with caplog.at_level(logging.WARNING, logger="channels.replies"):
        wait = _reply(account, age=40)  # 40 s old + 30 s of pause > 60

    assert wait is None
    assert fake_platform.requests_for("telegram") == []
    assert "dropped" in caplog.text


def test_it_tries_a_reply_again_in_a_second_when_the_platform_blinked(account, fake_platform):
    # given one 5xx: the request was refused, not acted on
    fake_platform.fail(502, count=1)

    # then the reply asks to be tried again in a second, and that try goes out
    assert _reply(account) == TRANSIENT_RETRY_SECONDS
    assert _reply(account) is None
    assert [r.answered for r in fake_platform.requests_for("telegram")] == [502, 200]


def test_it_drops_a_reply_that_may_have_arrived_and_logs_it(account, fake_platform, caplog):
    # given an answer we cannot read: the platform had the request and may have sent it
    fake_platform.error("telegram", {"something": "else"}, 200)

    with caplog.at_level(logging.WARNING):
        wait = _reply(account)

    # then it is not re-sent (the customer might read it twice), and the log says so
    assert wait is None
    assert len(fake_platform.requests_for("telegram")) == 1
    assert "may have been sent" in caplog.text


def test_a_429_on_a_reply_pauses_the_whole_account(account, fake_platform):
    # given the platform answers "retry after 30"
    fake_platform.error("telegram", TELEGRAM_429, 429)

    wait = _reply(account)

    # then the account is paused for the campaign dispatcher too, and the reply retries soon
    paused_until = ChannelAccount.objects.get(pk=account.pk).paused_until
    assert paused_until is not None
    assert 25 < (paused_until - datetime.now(tz=UTC)).total_seconds() <= 30
    assert wait == MAX_RETRY_SECONDS


def test_it_marks_the_subscription_blocked_when_a_reply_finds_the_user_gone(account, fake_platform):
    # given a subscriber who blocked the bot
    subscription = SubscriptionFactory(account=account, platform_user_id="5550009")
    fake_platform.block("5550009")

    assert _reply(account, user="5550009") is None

    # then the settings-named hook (subscriptions) marked it blocked, with a consent event
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.BLOCKED
    assert ConsentEvent.objects.filter(subscription=subscription, kind="blocked").exists()


def test_it_calls_no_one_when_no_recipient_gone_handler_is_set(account, fake_platform, settings):
    settings.RECIPIENT_GONE_HANDLER = ""
    subscription = SubscriptionFactory(account=account, platform_user_id="5550009")
    fake_platform.block("5550009")

    assert _reply(account, user="5550009") is None

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_a_paused_reply_once_the_pause_has_passed(account, fake_platform):
    # given an account paused for a few seconds
    until = ChannelAccount.objects.filter(pk=account.pk).pause(3)

    # when a reply is queued to a real worker
    with celery_worker(concurrency=1):
        send_reply.delay(account.pk, "5550001", HELLO)
        [request] = wait_for(lambda: fake_platform.requests_for("telegram"), timeout=30)

    # then it reached the platform only after the pause, exactly once
    assert request.received_at >= until.timestamp()
    assert len(fake_platform.requests_for("telegram")) == 1
