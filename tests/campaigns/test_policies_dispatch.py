"""Each send-time policy through the real dispatcher, at a chosen moment, against the fake platform.

In this process: `run_account` with Django's clock moved (tests/timetravel.py), real
PostgreSQL and real HTTP to the fake platform server. Every row of the table states the
delivery's recorded state and reason and what the platform received: nothing at all, or one
message in the exact form the platform allows at that moment.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from campaigns.dispatch import run_account
from campaigns.models import Delivery
from channels.fake_platform import RecordedRequest
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    DeliveryFactory,
    SubscriptionFactory,
)
from tests.timetravel import travel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
UTC = dt.UTC
# Tuesday 12 January 2027, 12:00 UTC: daytime for the default customer (UTC).
NOON = dt.datetime(2027, 1, 12, 12, 0, tzinfo=UTC)
# 20:30 UTC: 23:30 in Moscow (+03), 05:30 next morning in Tokyo (+09), 15:30 in New York (-05).
EVENING = dt.datetime(2027, 1, 12, 20, 30, tzinfo=UTC)
NEXT_DAY = dt.date(2027, 1, 13)


def utc(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """Given (channel, campaign, subscriber, moment, history) -> then (state, reason, platform)."""

    name: str
    state: str
    reason: str = ""
    kind: str = "telegram"
    category: str = "marketing"
    campaign: dict[str, Any] = field(default_factory=dict)
    sub: dict[str, Any] = field(default_factory=dict)
    zone: str = "UTC"
    now: dt.datetime = NOON
    last_message: dt.timedelta | None = None  # how long ago the customer last wrote
    earlier_marketing: tuple[int, ...] = ()  # days before `now` of marketing sends already made
    due_at: dt.datetime | None = None  # where a deferral moves the delivery
    body: dict[str, Any] = field(default_factory=dict)  # fields the sent request carries
    absent: tuple[str, ...] = ()  # fields the sent request must not carry


H2, H30 = dt.timedelta(hours=2), dt.timedelta(hours=30)
NO_TAG = ("tag",)
CASES = [
    # 1 subscription ------------------------------------------------------------------------
    Case("unsubscribed", "skipped", "subscription unsubscribed", sub={"status": "unsubscribed"}),
    Case("blocked", "skipped", "subscription blocked", sub={"status": "blocked"}),
    # 2 topic consent -----------------------------------------------------------------------
    Case(
        "topic not consented",
        "skipped",
        "topic promotions not consented",
        campaign={"topic": "promotions"},
        sub={"wants_promotions": False},
    ),
    Case(
        "service whatever the topics",
        "sent",
        category="service",
        campaign={"topic": "menu"},
        sub={"wants_menu": False},
        body={"text": "Hello Ann"},
    ),
    # 3 platform windows --------------------------------------------------------------------
    Case(
        "messenger survey outside 24 h",
        "skipped",
        "messenger window closed",
        kind="messenger",
        category="survey",
        campaign={"topic": "surveys"},
        last_message=H30,
    ),
    Case(
        "messenger menu outside 24 h",
        "skipped",
        "messenger window closed",
        kind="messenger",
        last_message=H30,
    ),
    Case(
        "messenger menu never wrote",
        "skipped",
        "messenger window closed",
        kind="messenger",
    ),
    Case(
        "messenger menu inside 24 h",
        "sent",
        kind="messenger",
        last_message=H2,
        body={"messaging_type": "UPDATE"},
        absent=NO_TAG,
    ),
    Case(
        "messenger order update outside 24 h",
        "sent",
        kind="messenger",
        category="service",
        last_message=H30,
        body={"messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"},
    ),
    Case(
        "vk menu outside 24 h",
        "sent",
        kind="vk",
        last_message=H30,
        body={"intent": "promo_newsletter"},
    ),
    Case(
        "vk survey outside 24 h",
        "sent",
        kind="vk",
        category="survey",
        campaign={"topic": "surveys"},
        last_message=H30,
        body={"intent": "non_promo_newsletter"},
    ),
    Case("vk inside 24 h", "sent", kind="vk", last_message=H2, absent=("intent",)),
    Case(
        "whatsapp outside 24 h with a template",
        "sent",
        kind="whatsapp",
        campaign={"whatsapp_template": "weekly_menu"},
        last_message=H30,
        body={"type": "template", "template": {"name": "weekly_menu", "language": {"code": "en"}}},
        absent=("text",),
    ),
    Case(
        "whatsapp outside 24 h without a template",
        "skipped",
        "whatsapp window closed, no template",
        kind="whatsapp",
        last_message=H30,
    ),
    Case(
        "whatsapp inside 24 h",
        "sent",
        kind="whatsapp",
        last_message=H2,
        body={"type": "text", "text": {"body": "Hello Ann"}},
        absent=("template",),
    ),
    # 4 quiet hours -------------------------------------------------------------------------
    Case(
        "moscow at 23:30",
        "deferred",
        "quiet hours",
        zone="Europe/Moscow",
        now=EVENING,
        due_at=utc(NEXT_DAY, 6),  # 09:00 in Moscow
    ),
    Case(
        "tokyo at 05:30",
        "deferred",
        "quiet hours",
        zone="Asia/Tokyo",
        now=EVENING,
        due_at=utc(NEXT_DAY, 0),  # 09:00 in Tokyo
    ),
    Case("new york at 15:30", "sent", zone="America/New_York", now=EVENING),
    Case(
        "campaign ignores quiet hours",
        "sent",
        campaign={"respect_quiet_hours": False},
        zone="Europe/Moscow",
        now=EVENING,
    ),
    Case(
        "campaign's own quiet hours",
        "deferred",
        "quiet hours",
        campaign={"quiet_hours_start": dt.time(23, 0), "quiet_hours_end": dt.time(7, 0)},
        zone="Europe/Moscow",
        now=EVENING,
        due_at=utc(NEXT_DAY, 4),  # 07:00 in Moscow
    ),
    Case(
        "campaign's own quiet hours not yet begun",
        "sent",
        campaign={"quiet_hours_start": dt.time(23, 45), "quiet_hours_end": dt.time(7, 0)},
        zone="Europe/Moscow",
        now=EVENING,
    ),
    # 5 frequency cap -----------------------------------------------------------------------
    Case("third marketing in 7 days", "skipped", "frequency cap", earlier_marketing=(6, 3)),
    Case("first of two fell out of 7 days", "sent", earlier_marketing=(8, 3)),
    Case("service is never capped", "sent", category="service", earlier_marketing=(2, 1)),
    # 6 holdout -----------------------------------------------------------------------------
    Case("held out", "skipped", "holdout", campaign={"holdout_percent": 100}),
]
BY_NAME = {case.name: case for case in CASES}


def _given(case: Case, account_on) -> Delivery:
    """The case's subscriber and due delivery, and its earlier marketing sends (dispatched)."""
    account = account_on(case.kind)
    customer = CustomerFactory(name="Ann", time_zone=case.zone)
    last = None if case.last_message is None else case.now - case.last_message
    subscription = SubscriptionFactory(
        customer=customer, account=account, last_inbound_at=last, **case.sub
    )
    for days in sorted(case.earlier_marketing, reverse=True):
        then = case.now - dt.timedelta(days=days)
        earlier = DeliveryFactory(
            subscription=subscription, campaign=CampaignFactory(), due_at=then
        )
        with travel(then):
            run_account(account.pk)
        assert Delivery.objects.get(pk=earlier.pk).state == "sent"
    campaign = CampaignFactory(category=case.category, **case.campaign)
    # Service messages are about an order (Messenger's tag may carry nothing else).
    order = subscription.order if case.category == "service" else None
    return DeliveryFactory(
        subscription=subscription, campaign=campaign, order=order, due_at=case.now
    )


def _body(request: RecordedRequest) -> dict[str, Any]:
    return request.json if isinstance(request.json, dict) else dict(request.form or {})


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_it_records_each_policys_outcome_and_sends_only_what_the_platform_allows(
    case, account_on, fake_platform
):
    # given a due delivery (and, for the cap, earlier sends the platform got)
    delivery = _given(case, account_on)
    before = len(fake_platform.requests)

    # when the dispatcher runs at the case's moment
    with travel(case.now):
        run_account(delivery.account_id)

    # then the outcome and its reason are recorded
    row = Delivery.objects.get(pk=delivery.pk)
    assert (row.state, row.reason) == (case.state, case.reason)
    assert row.due_at == (case.due_at or case.now)
    received = fake_platform.requests[before:]
    if case.state != "sent":
        # and nothing at all reached the platform: no tag, template or intent tried instead
        assert received == []
        assert row.sent_at is None
        return
    # and exactly one message went, to this customer, in the form the platform allows now
    [request] = received
    assert (request.answered, request.recipient) == (200, delivery.subscription.platform_user_id)
    body = _body(request)
    assert {key: body.get(key) for key in case.body} == case.body
    assert not set(case.absent) & set(body)
    assert row.sent_at is not None and case.now <= row.sent_at < case.now + dt.timedelta(minutes=1)


def test_it_sends_a_deferred_delivery_when_the_quiet_hours_end(account_on, fake_platform):
    # given a delivery deferred at 23:30 in Moscow
    delivery = _given(BY_NAME["moscow at 23:30"], account_on)
    with travel(EVENING):
        run_account(delivery.account_id)

    # when the dispatcher runs again a minute before 09:00 local, and then at 09:00
    with travel(utc(NEXT_DAY, 6) - dt.timedelta(minutes=1)):
        run_account(delivery.account_id)
    early = Delivery.objects.get(pk=delivery.pk)
    with travel(utc(NEXT_DAY, 6)):
        run_account(delivery.account_id)

    # then it waited until 09:00 and went out then, once
    assert early.state == "deferred"
    row = Delivery.objects.get(pk=delivery.pk)
    assert (row.state, row.reason, row.attempts) == ("sent", "", 1)
    assert row.sent_at >= utc(NEXT_DAY, 6)
    [request] = fake_platform.requests
    assert request.recipient == delivery.subscription.platform_user_id
