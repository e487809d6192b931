"""Retention: rows past their kind's retention are purged in batches; newer ones and work still
to do stay."""

import datetime as dt

import pytest

from campaigns.models import Delivery, LinkClick
from channels.models import InboundEvent, SandboxMessage
from config.celery import app
from subscriptions.privacy.retention import retention_purge
from subscriptions.tasks import retention_purge_task
from tests.factories import ChannelAccountFactory, DeliveryFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def days_ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def inbound(account, age: int, n: int) -> None:
    for i in range(n):
        event = InboundEvent.objects.create(
            account=account, kind="text", platform_user_id="u", event_id=f"{age}-{i}",
            occurred_at=days_ago(age), raw={},
        )  # fmt: skip
        InboundEvent.objects.filter(pk=event.pk).update(received_at=days_ago(age))


def sandbox_message(account, age: int) -> None:
    row = SandboxMessage.objects.create(account=account, conversation="c", direction="in", body={})
    SandboxMessage.objects.filter(pk=row.pk).update(created_at=days_ago(age))


def delivery(age: int, state: str = "sent") -> Delivery:
    return DeliveryFactory(state=state, due_at=days_ago(age), created_at=days_ago(age))


@pytest.fixture
def rows(settings):
    settings.RETAIN_INBOUND_EVENTS_DAYS = 90
    settings.RETAIN_SANDBOX_MESSAGES_DAYS = 7
    settings.RETAIN_DELIVERIES_DAYS = 400
    settings.RETAIN_LINK_CLICKS_DAYS = 90
    settings.RETENTION_BATCH_SIZE = 2  # several batches per kind
    account = ChannelAccountFactory(kind="sandbox")
    inbound(account, 91, 5)
    inbound(account, 89, 1)
    sandbox_message(account, 8)
    sandbox_message(account, 6)
    kept = delivery(30)
    LinkClick.objects.create(delivery=kept, url="https://shop.example/", clicked_at=days_ago(91))
    LinkClick.objects.create(delivery=kept, url="https://shop.example/", clicked_at=days_ago(1))
    old = [delivery(401), delivery(401, "skipped"), delivery(500, "failed")]
    still_to_send = delivery(401, "deferred")
    return {"kept": kept, "old": old, "deferred": still_to_send}


def test_it_purges_what_is_past_its_retention_and_keeps_the_rest(rows):
    deleted = retention_purge(now=NOW)

    assert deleted == {
        "inbound_events": 5, "sandbox_messages": 1, "link_clicks": 1, "deliveries": 3,
    }  # fmt: skip
    assert InboundEvent.objects.count() == 1
    assert SandboxMessage.objects.count() == 1
    assert LinkClick.objects.count() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {
        rows["kept"].pk, rows["deferred"].pk,
    }  # fmt: skip


def test_a_second_run_finds_nothing(rows):
    retention_purge(now=NOW)

    assert set(retention_purge(now=NOW).values()) == {0}


def test_zero_days_keeps_a_kind_for_ever(rows, settings):
    settings.RETAIN_INBOUND_EVENTS_DAYS = 0

    deleted = retention_purge(now=NOW)

    assert "inbound_events" not in deleted
    assert InboundEvent.objects.count() == 6


def test_a_run_out_of_time_stops_after_one_batch_per_kind(rows):
    deleted = retention_purge(now=NOW, run_seconds=0)

    assert deleted["inbound_events"] == 2  # the next run goes on


def test_the_task_purges_and_beat_runs_it():
    retention_purge_task()

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "subscriptions.retention_purge" in tasks
