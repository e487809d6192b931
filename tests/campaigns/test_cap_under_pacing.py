"""The frequency cap under slow pacing, with real workers: several marketing campaigns launched
together never bring a customer more than the cap, on one account or across two.

Rows decided while an earlier marketing row of the same customer still waits for its pacing
slot (`queued`) must count it: that is where the cap leaked (issue #9).
"""

from collections import Counter

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.tasks import dispatch_account
from tests.factories import CampaignFactory, CustomerFactory, DeliveryFactory, SubscriptionFactory
from tests.workers import celery_beat, celery_worker, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
CAP = 2


def _campaigns(n: int) -> list:
    return [
        CampaignFactory(
            name=f"sale {i}", category="marketing", respect_quiet_hours=False,
            content={"default": {"text": f"sale {i}"}},
        )
        for i in range(n)
    ]  # fmt: skip


def _received(fake_platform, *platforms: str) -> Counter:
    """Messages the platforms accepted, per (platform, recipient)."""
    return Counter(
        (platform, request.recipient)
        for platform in platforms
        for request in fake_platform.requests_for(platform)
        if request.answered == 200
    )


def _settle(*accounts) -> None:
    def settled() -> bool:
        open_ = Delivery.objects.filter(account__in=accounts).exclude(
            state__in=Delivery.FINAL_STATES
        )
        return not open_.exists()

    wait_for(settled, timeout=90)


def test_four_campaigns_launched_together_on_a_slow_account_send_no_one_past_the_cap(
    account_on, fake_platform, settings
):
    # given six VK customers, four marketing one-offs due to each at once, an account paced
    # at 4/s (each claim is a handful of rows, so a customer's rows span several batches)
    settings.MARKETING_CAP_COUNT = CAP
    vk = account_on("vk", rate_limit=4)
    chats = [SubscriptionFactory(account=vk, order=None) for _ in range(6)]
    now = timezone.now()
    for campaign in _campaigns(4):
        for chat in chats:
            DeliveryFactory(campaign=campaign, subscription=chat, due_at=now)

    with celery_worker(MARKETING_CAP_COUNT=str(CAP)):
        dispatch_account.delay(vk.pk)
        _settle(vk)

    # then each customer received exactly the cap at the platform; the rest were skipped
    received = _received(fake_platform, "vk")
    assert sorted(received.values()) == [CAP] * len(chats)
    skipped = Delivery.objects.filter(account=vk, state="skipped", reason="frequency cap")
    assert skipped.count() == len(chats) * (4 - CAP)


def test_campaigns_on_two_accounts_of_one_customer_send_no_more_than_the_cap_in_all(
    account_on, fake_platform, settings
):
    # given customers with a Telegram and a VK chat, two campaigns on each account due at
    # once, both accounts paced slowly and dispatched at the same time by one worker
    settings.MARKETING_CAP_COUNT = CAP
    telegram, vk = account_on("telegram", rate_limit=3), account_on("vk", rate_limit=3)
    customers = [CustomerFactory() for _ in range(5)]
    now = timezone.now()
    for account, campaigns in ((telegram, _campaigns(2)), (vk, _campaigns(2))):
        for customer in customers:
            chat = SubscriptionFactory(customer=customer, account=account, order=None)
            for campaign in campaigns:
                DeliveryFactory(campaign=campaign, subscription=chat, due_at=now)

    # (beat's tick wakes an account again for rows put back a second by per-chat spacing)
    with celery_beat(), celery_worker(concurrency=3, MARKETING_CAP_COUNT=str(CAP)):
        dispatch_account.delay(telegram.pk)
        dispatch_account.delay(vk.pk)
        _settle(telegram, vk)

    # then no customer got more than the cap across both platforms, and the cap was reached
    per_customer: Counter = Counter()
    chat_owner = {
        (kind, uid): customer
        for kind, uid, customer in Delivery.objects.values_list(
            "account__kind", "subscription__platform_user_id", "subscription__customer_id"
        )
    }
    for (platform, recipient), n in _received(fake_platform, "telegram", "vk").items():
        per_customer[chat_owner[(platform, recipient)]] += n
    assert sorted(per_customer.values()) == [CAP] * len(customers)
