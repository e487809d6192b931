"""INBOUND_PROCESSING "worker": the webhook verifies, stores and answers; a worker handles the
events in arrival order. Starts with a token and answers that must carry the reply stay in the
request; what a lost wake-up or a failing handler leaves, the sweep handles."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from channels.events import EventKind
from channels.inbound import INBOUND_TASK, inbound_events_drain, inbound_stream
from channels.models import InboundEvent
from channels.providers.base import Reply
from channels.tasks import inbound_drain
from config.wakeups import woken
from subscriptions import replies
from subscriptions.models import Subscription
from subscriptions.tokens import order_token_issue
from tests.channels.webhooks import assert_stored_once, deliver_signed, fixture
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory
from tests.workers import celery_worker, queued, queued_tasks, wait_for

HANDLED: list[tuple[str, str]] = []  # (user, text) as record() saw them, in order


def record(event: InboundEvent) -> list[Reply]:
    """A handler (INBOUND_EVENT_HANDLERS) that notes what it got; text "fail" raises."""
    if event.text == "fail":
        raise RuntimeError("a handler's bug")
    HANDLED.append((event.platform_user_id, event.text))
    return []


def telegram_text(update_id: int, user: int, text: str) -> dict:
    body = copy.deepcopy(fixture("telegram", "message_text"))
    body["update_id"] = update_id
    body["message"] |= {"message_id": update_id, "text": text}
    body["message"]["from"]["id"] = body["message"]["chat"]["id"] = user
    return body


@pytest.fixture
def worker_mode(settings):
    settings.INBOUND_PROCESSING = "worker"
    HANDLED.clear()
    return settings


@pytest.fixture
def recorded(worker_mode):
    worker_mode.INBOUND_EVENT_HANDLERS = [f"{__name__}.record"]
    return HANDLED


@pytest.mark.django_db
def test_the_webhook_stores_the_event_and_answers_without_handling_it(
    client, worker_mode, django_capture_on_commit_callbacks
):
    account = ChannelAccountFactory(kind="telegram")

    with django_capture_on_commit_callbacks() as wakes:
        response = deliver_signed(client, account, fixture("telegram", "message_text"))

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert (row.deferred, row.processed_at) == (True, None)
    assert row.stream == inbound_stream(account, row.platform_user_id)
    assert len(wakes) == 1  # the stream's wake-up, sent once the row is committed


@pytest.mark.django_db
def test_streams_split_customers_and_each_keeps_its_customers_order(client, recorded, settings):
    # given two streams and two customers who fall in different ones, each writing twice
    settings.INBOUND_STREAMS = 2
    account = ChannelAccountFactory(kind="telegram")
    first, second = _users_in_two_streams(account)
    for update_id, user, text in [(1, first, "a1"), (2, second, "b1"), (3, first, "a2"),
                                  (4, second, "b2")]:  # fmt: skip
        deliver_signed(client, account, telegram_text(update_id, user, text))

    # when only the second customer's stream is drained
    handled = inbound_events_drain(stream=inbound_stream(account, str(second)))

    # then just their events were handled, in order; the other stream's wait for its drain
    assert handled == 2
    assert recorded == [(str(second), "b1"), (str(second), "b2")]
    assert inbound_events_drain(stream=inbound_stream(account, str(first))) == 2
    assert recorded[2:] == [(str(first), "a1"), (str(first), "a2")]


def _users_in_two_streams(account) -> tuple[int, int]:
    """Two user ids whose events fall in different streams."""
    streams: dict[int, int] = {}
    for user in range(7, 1000):
        streams.setdefault(inbound_stream(account, str(user)), user)
        if len(streams) == 2:
            first, second = streams.values()
            return first, second
    raise AssertionError("no two streams")


@pytest.mark.django_db
def test_the_drain_handles_each_customers_events_in_the_order_they_came(client, recorded):
    account = ChannelAccountFactory(kind="telegram")
    for update_id, user, text in [(3, 7, "one"), (1, 8, "other"), (2, 7, "two"), (4, 7, "three")]:
        deliver_signed(client, account, telegram_text(update_id, user, text))

    handled = inbound_events_drain()

    assert handled == 4
    assert recorded == [("7", "one"), ("8", "other"), ("7", "two"), ("7", "three")]
    assert not InboundEvent.objects.filter(processed_at=None).exists()
    assert inbound_events_drain() == 0  # each once


@pytest.mark.django_db
def test_a_redelivered_event_is_stored_and_handled_once(client, recorded):
    account = ChannelAccountFactory(kind="telegram")
    body = telegram_text(1, 7, "hello")

    assert_stored_once(lambda: deliver_signed(client, account, body), account)
    assert inbound_events_drain() == 1
    deliver_signed(client, account, body)  # and again after it was handled

    assert inbound_events_drain() == 0
    assert recorded == [("7", "hello")]
    assert InboundEvent.objects.get().deferred is True


@pytest.mark.django_db
def test_a_failing_event_holds_back_nothing_and_the_sweep_tries_it_again(client, recorded, caplog):
    account = ChannelAccountFactory(kind="telegram")
    for update_id, text in [(1, "fail"), (2, "after")]:
        deliver_signed(client, account, telegram_text(update_id, 7, text))

    assert inbound_events_drain() == 1
    assert recorded == [("7", "after")]
    failed = InboundEvent.objects.get(processed_at=None)
    assert failed.text == "fail"
    assert "the sweep tries again" in caplog.text
    assert failed.attempts == 1
    assert timedelta(seconds=25) < failed.retry_at - timezone.now() <= timedelta(seconds=30)

    # the sweep leaves it while it is young and until its retry time, then takes it (the
    # handler fixed meanwhile)
    sweep_age = timedelta(seconds=30)
    assert inbound_events_drain(older_than=sweep_age) == 0
    InboundEvent.objects.filter(pk=failed.pk).update(
        received_at=timezone.now() - timedelta(seconds=31), text="fixed"
    )
    assert inbound_events_drain(older_than=sweep_age) == 0
    InboundEvent.objects.filter(pk=failed.pk).update(retry_at=timezone.now())
    assert inbound_events_drain(older_than=sweep_age) == 1
    assert recorded == [("7", "after"), ("7", "fixed")]


@pytest.mark.django_db
def test_an_event_that_keeps_failing_is_tried_less_often_up_to_hourly_and_never_dropped(
    client, recorded
):
    # given an event whose handler fails every time
    account = ChannelAccountFactory(kind="telegram")
    deliver_signed(client, account, telegram_text(1, 7, "fail"))
    event = InboundEvent.objects.get()
    sweep_age = timedelta(seconds=30)
    waits = []

    # when the sweep tries it each time its wait has passed
    for _ in range(10):
        InboundEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - timedelta(minutes=1),
            retry_at=None if not waits else timezone.now(),
        )
        tried_at = timezone.now()
        assert inbound_events_drain(older_than=sweep_age) == 0
        event.refresh_from_db()
        waits.append((event.retry_at - tried_at).total_seconds())

        # meanwhile neither the sweep nor a drain woken by another event tries it again
        deliver_signed(client, account, telegram_text(100 + len(waits), 7, "meanwhile"))
        assert inbound_events_drain(stream=event.stream) == 1
        assert inbound_events_drain(older_than=timedelta(0)) == 0
        assert InboundEvent.objects.get(pk=event.pk).attempts == len(waits)

    # then each wait is twice the one before (jitter-free), from the sweep's interval to an hour
    assert [round(w) for w in waits] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert event.processed_at is None and event.attempts == 10  # still there, still tried


@pytest.fixture
def share_of_two(monkeypatch):
    """A drain's share made two events (two batches of one)."""
    monkeypatch.setattr("channels.inbound.DRAIN_BATCH", 1)
    monkeypatch.setattr("channels.inbound.DRAIN_BATCHES", 2)


def drain_wakes() -> list[list]:
    """The arguments of the drain tasks queued since the last look (and taken)."""
    return [args for name, args in queued_tasks(take=True) if name == INBOUND_TASK]


@pytest.mark.redis
@pytest.mark.django_db
def test_a_sweep_with_more_than_its_share_wakes_every_streams_drain(
    client, recorded, share_of_two, settings
):
    # given three old events the sweep may take only two of (its share made small)
    account = ChannelAccountFactory(kind="telegram")
    for update_id in (1, 2, 3):
        deliver_signed(client, account, telegram_text(update_id, 7, f"m{update_id}"))
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    for stream in range(settings.INBOUND_STREAMS):
        woken(INBOUND_TASK, key=str(stream))  # no wake-up on its way before the sweep
    queued_tasks(take=True)

    # when
    handled = inbound_events_drain(older_than=timedelta(seconds=30))

    # then it handled its share and woke each stream's drain for the rest
    assert handled == 2 and recorded == [("7", "m1"), ("7", "m2")]
    assert sorted(drain_wakes()) == [[stream] for stream in range(settings.INBOUND_STREAMS)]


@pytest.mark.redis
@pytest.mark.django_db
def test_a_streams_drain_goes_on_after_its_share_not_from_the_oldest_again(
    client, recorded, share_of_two
):
    # given one customer's stream whose two oldest events keep failing, then two good ones,
    # and a drain whose share is two events
    account = ChannelAccountFactory(kind="telegram")
    for update_id, text in [(1, "fail"), (2, "fail"), (3, "m3"), (4, "m4")]:
        deliver_signed(client, account, telegram_text(update_id, 7, text))
    stream = InboundEvent.objects.first().stream
    woken(INBOUND_TASK, key=str(stream))
    queued_tasks(take=True)
    second = InboundEvent.objects.order_by("pk")[1].pk

    # when its drain has looked at its share (both failing)
    assert inbound_events_drain(stream=stream) == 0

    # then its next pass is woken to start after them: from the oldest again, it would only
    # ever meet the same failing events
    [wake] = drain_wakes()
    assert wake == [stream, second]
    assert inbound_drain(*wake) == 2
    assert recorded == [("7", "m3"), ("7", "m4")]
    # and the pass after that (its share was full again) finds the end and wakes nothing;
    # the failing two wait for the sweep
    [wake] = drain_wakes()
    assert inbound_drain(*wake) == 0
    assert drain_wakes() == []
    assert InboundEvent.objects.filter(processed_at=None).count() == 2


@pytest.mark.django_db
def test_a_start_with_a_token_is_handled_in_the_request(client, worker_mode):
    account = ChannelAccountFactory(kind="telegram")
    order = OrderFactory(customer=CustomerFactory(locale="en"))
    body = copy.deepcopy(fixture("telegram", "message_start_token"))
    body["message"]["text"] = f"/start {order_token_issue(order)}"

    response = deliver_signed(client, account, body)

    # linked as the request returns: the stored copy has the token masked, the handler had it
    assert response.status_code == 200
    assert Subscription.objects.get().order == order
    row = InboundEvent.objects.get()
    assert (row.deferred, row.processed_at is not None) == (False, True)


@pytest.mark.django_db
def test_viber_gets_its_welcome_in_the_answer(client, worker_mode):
    account = ChannelAccountFactory(kind="viber")

    response = deliver_signed(client, account, fixture("viber", "conversation_started_token"))

    assert response.status_code == 200
    assert response.json()["text"]  # the answer to a token that links nothing
    assert InboundEvent.objects.get().processed_at is not None


@pytest.mark.django_db
def test_a_redelivered_event_whose_request_failed_goes_to_the_worker(client, recorded):
    account = ChannelAccountFactory(kind="telegram")
    body = telegram_text(1, 7, "hello")
    # an earlier copy was stored in its request and its handling failed there
    InboundEvent.objects.create(
        account=account, kind=EventKind.TEXT.value, platform_user_id="7", event_id="1",
        occurred_at=timezone.now(), text="hello",
    )  # fmt: skip

    response = deliver_signed(client, account, body)

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert (row.deferred, row.stream) == (True, inbound_stream(account, "7"))
    assert inbound_events_drain() == 1
    assert recorded == [("7", "hello")]


@pytest.mark.django_db
def test_with_the_broker_down_the_event_waits_for_the_sweep(
    client, worker_mode, broker_down, caplog, django_capture_on_commit_callbacks
):
    worker_mode.INBOUND_EVENT_HANDLERS = [f"{__name__}.record"]
    account = ChannelAccountFactory(kind="telegram")

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_signed(client, account, telegram_text(1, 7, "hello"))

    assert response.status_code == 200  # stored: a 500 would only bring it back
    assert "not announced (broker unreachable?)" in caplog.text
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    assert inbound_events_drain(older_than=timedelta(seconds=30)) == 1
    assert HANDLED == [("7", "hello")]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_handles_a_burst_once_and_the_replies_reach_the_platform(
    client, worker_mode, fake_platform
):
    # given a bot on the fake platform and three strangers writing to it at once
    account = ChannelAccountFactory(kind="telegram", api_base=fake_platform.url)
    for n in range(3):
        response = deliver_signed(client, account, telegram_text(n + 1, 9000 + n, "hi"))
        assert response.status_code == 200
    # one wake-up per stream for the burst
    assert queued() == len({inbound_stream(account, str(9000 + n)) for n in range(3)})

    # when a worker runs
    with celery_worker():
        # then each stranger is told how to subscribe, once, and every event is handled
        how = replies.text("how_to_subscribe", "ru", shop_url=worker_mode.SHOP_URL)

        def told() -> list:
            requests = fake_platform.requests_for("telegram")
            return [r for r in requests if how in (r.json or {}).get("text", "")]

        wait_for(lambda: len(told()) >= 3)
    assert sorted(r.recipient for r in told()) == ["9000", "9001", "9002"]
    assert not InboundEvent.objects.filter(processed_at=None).exists()


@pytest.mark.django_db
def test_a_start_with_a_token_comes_after_what_that_customer_sent_before_it(client, recorded):
    # given a customer's message waiting for a worker, and another customer's
    account = ChannelAccountFactory(kind="telegram")
    deliver_signed(client, account, telegram_text(1, 7, "STOP"))
    deliver_signed(client, account, telegram_text(2, 8, "hello"))
    assert recorded == []

    # when the first customer opens a subscribe link (a Start with a token: handled at once)
    start = copy.deepcopy(fixture("telegram", "message_start_token"))
    start["update_id"] = 3
    start["message"]["from"]["id"] = start["message"]["chat"]["id"] = 7
    start["message"]["text"] = f"/start {order_token_issue(OrderFactory())}"
    assert deliver_signed(client, account, start).status_code == 200

    # then their earlier message was handled first; the other customer's still waits
    assert [user for user, _ in recorded] == ["7", "7"]
    assert recorded[0] == ("7", "STOP")
    waiting = InboundEvent.objects.get(processed_at=None)
    assert (waiting.platform_user_id, waiting.text) == ("8", "hello")
