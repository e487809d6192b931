"""The frequency cap holds across accounts: two dispatchers that both saw room for one more
marketing message to a customer with two chats send one (campaigns/dispatch/cap_fence.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.dispatch.dispatcher import Dispatcher
from campaigns.dispatch.lease import Lease
from campaigns.models import Delivery
from tests.factories import CampaignFactory, CustomerFactory, DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.postgres


def dispatcher_on(account) -> Dispatcher:
    dispatcher = Dispatcher(account, threads=2)
    assert Lease(account.pk, dispatcher.owner).acquire()
    return dispatcher


def finish(dispatcher: Dispatcher) -> None:
    """Send what the dispatcher holds, each at its pacing slot, and record the outcomes."""
    lease = Lease(dispatcher.account.pk, dispatcher.owner)
    while dispatcher.ready or dispatcher.sender.in_flight:
        dispatcher._submit()
        dispatcher._collect(lease, 0.05)
    dispatcher._flush()
    dispatcher._close()


def test_two_accounts_dispatchers_send_a_customer_no_more_marketing_than_the_cap(
    account_on, fake_platform, settings
):
    # given a customer on Telegram and on VK who has had one of their two marketing messages
    settings.MARKETING_CAP_COUNT = 2
    now = timezone.now()
    customer = CustomerFactory()
    telegram, vk = account_on("telegram"), account_on("vk")
    chats = [
        SubscriptionFactory(customer=customer, account=account, order=None, last_inbound_at=now)
        for account in (telegram, vk)
    ]
    earlier = CampaignFactory(category="marketing")
    an_hour_ago = now - timedelta(hours=1)
    DeliveryFactory(campaign=earlier, subscription=chats[0], state="sent", sent_at=an_hour_ago)
    # and a marketing message due to each chat, from two campaigns
    rows = []
    for chat in chats:
        campaign = CampaignFactory(
            category="marketing", content={"default": {"text": "Sale"}}, respect_quiet_hours=False
        )
        rows.append(DeliveryFactory(campaign=campaign, subscription=chat, due_at=now))

    # when both accounts' dispatchers claim and decide before either marks its row `sending`
    # (each counts only its own account's queued rows: the fence settles the rest)
    dispatchers = [dispatcher_on(telegram), dispatcher_on(vk)]
    for dispatcher in dispatchers:
        dispatcher._prepare()
        assert [job.recheck_cap for job in dispatcher.ready] == [True]
    for dispatcher in dispatchers:
        finish(dispatcher)

    # then one was sent and the other skipped for the cap: two in the window, as allowed
    states = sorted(Delivery.objects.filter(pk__in=[r.pk for r in rows]).values_list(
        "state", "reason"
    ))  # fmt: skip
    assert states == [("sent", ""), ("skipped", "frequency cap")]
    sent = fake_platform.requests_for("telegram") + fake_platform.requests_for("vk")
    assert len(sent) == 1


def test_a_customer_with_one_chat_is_not_fenced(account_on, fake_platform):
    # one account's dispatcher is the only one that can send to them: no lock, no second count
    account = account_on("telegram")
    now = timezone.now()
    chat = SubscriptionFactory(account=account, order=None, last_inbound_at=now)
    campaign = CampaignFactory(
        category="marketing", content={"default": {"text": "Sale"}}, respect_quiet_hours=False
    )
    DeliveryFactory(campaign=campaign, subscription=chat, due_at=now - timedelta(seconds=1))

    dispatcher = dispatcher_on(account)
    dispatcher._prepare()

    assert [job.recheck_cap for job in dispatcher.ready] == [False]
    finish(dispatcher)
    assert Delivery.objects.get(subscription=chat).state == "sent"
