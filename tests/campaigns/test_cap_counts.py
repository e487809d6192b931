"""The frequency cap's counts: what counts against a customer's cap, the same through the SQL
that PostgreSQL runs and the ORM's form that SQLite runs (campaigns/cap_counts.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import cap_counts
from campaigns.cap_counts import marketing_counts
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_it_counts_what_left_in_the_window_and_what_the_account_holds_queued(settings):
    # given a week's cap and three customers: one with two active chats
    settings.MARKETING_CAP_DAYS = 7
    now = timezone.now()
    telegram, vk = ChannelAccountFactory(kind="telegram"), ChannelAccountFactory(kind="vk")
    busy, quiet, gone = CustomerFactory(), CustomerFactory(), CustomerFactory()
    busy_tg = SubscriptionFactory(customer=busy, account=telegram, order=None)
    busy_vk = SubscriptionFactory(customer=busy, account=vk, order=None)
    quiet_tg = SubscriptionFactory(customer=quiet, account=telegram, order=None)
    SubscriptionFactory(customer=gone, account=telegram, order=None, status="unsubscribed")
    marketing, service = CampaignFactory(category="marketing"), CampaignFactory(category="service")
    hour_ago, last_month = now - timedelta(hours=1), now - timedelta(days=30)

    occurrences = iter(range(100))

    def row(subscription, campaign=marketing, **fields):
        occurrence = f"event:{next(occurrences)}"  # one campaign's rows to one chat
        return DeliveryFactory(
            subscription=subscription, campaign=campaign, occurrence=occurrence, **fields
        )

    # what counts: marketing that left (or may have) within the window, on either chat
    row(busy_tg, state="sent", sent_at=hour_ago)
    row(busy_vk, state="unknown", sent_at=hour_ago)
    row(quiet_tg, state="sending", sent_at=hour_ago)
    # and marketing the Telegram dispatcher holds queued outside this batch
    row(quiet_tg, state="queued", claimed_by="run")
    in_batch = row(quiet_tg, state="queued", claimed_by="run")
    # what does not: too old, a service message, a fallback's repeat, failed, queued elsewhere
    row(busy_tg, state="sent", sent_at=last_month)
    row(busy_tg, campaign=service, state="sent", sent_at=hour_ago)
    row(busy_tg, state="sent", sent_at=hour_ago, repeats_sent=True)
    row(busy_tg, state="failed", sent_at=hour_ago)
    row(busy_vk, state="queued", claimed_by="other run")
    row(quiet_tg, campaign=service, state="queued", claimed_by="run")

    customers = {busy.pk, quiet.pk, gone.pk}
    queued = (telegram.pk, [in_batch.pk])

    # when counted
    counts, shared = marketing_counts(customers, now=now, queued=queued)

    # then
    assert dict(counts) == {busy.pk: 2, quiet.pk: 2, gone.pk: 0}
    assert shared == {busy.pk}
    # and the ORM's form (SQLite's) gives the same rows as PostgreSQL's SQL
    since = now - timedelta(days=7)
    sql_sent, sql_waiting = cap_counts._postgresql(customers, since, queued)
    orm_sent, orm_waiting = cap_counts._portable(customers, since, queued)
    assert sorted(sql_sent) == sorted(orm_sent) and len(sql_sent) == 4
    assert sorted(sql_waiting) == sorted(orm_waiting) == [(quiet.pk, 1)]
