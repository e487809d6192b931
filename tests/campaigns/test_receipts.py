import datetime as dt
import itertools

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from channels.inbound import inbound_event_process
from channels.models import InboundEvent
from tests.factories import ChannelAccountFactory, DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
_ids = itertools.count()
NOW = timezone.now()


def sent(subscription, message_id: str, sent_at: dt.datetime = NOW) -> Delivery:
    return DeliveryFactory(
        subscription=subscription, state="sent", provider_message_id=message_id, sent_at=sent_at
    )


def receipt(account, kind: str, user: str = "", **fields) -> None:
    event = InboundEvent.objects.create(
        account=account,
        kind=kind,
        platform_user_id=user,
        event_id=f"r-{next(_ids)}",
        occurred_at=NOW + dt.timedelta(minutes=1),
        **fields,
    )
    inbound_event_process(event=event)


def test_a_delivery_receipt_by_message_id_stamps_delivered_once():
    subscription = SubscriptionFactory(account=ChannelAccountFactory(kind="viber"))
    mine, other = sent(subscription, "m-1"), sent(SubscriptionFactory(), "m-2")
    receipt(subscription.account, "delivered", message_ids=["m-1"])
    first = Delivery.objects.get(pk=mine.pk).delivered_at
    receipt(subscription.account, "delivered", message_ids=["m-1"])
    mine.refresh_from_db(), other.refresh_from_db()
    assert mine.delivered_at == first == NOW + dt.timedelta(minutes=1)
    assert mine.read_at is None and other.delivered_at is None


def test_a_read_receipt_also_means_delivered():
    subscription = SubscriptionFactory(account=ChannelAccountFactory(kind="whatsapp"))
    delivery = sent(subscription, "wamid.1")
    receipt(subscription.account, "read", message_ids=["wamid.1"])
    delivery.refresh_from_db()
    assert delivery.read_at is not None and delivery.delivered_at == delivery.read_at


def test_a_messenger_watermark_marks_everything_sent_to_that_person_before_it():
    # given three sends to one Messenger user and one to another user
    account = ChannelAccountFactory(kind="messenger")
    alice = SubscriptionFactory(account=account, platform_user_id="psid-alice")
    bob = SubscriptionFactory(account=account, platform_user_id="psid-bob")
    earlier = sent(alice, "mid.1", NOW - dt.timedelta(minutes=10))
    DeliveryFactory(subscription=alice, occurrence="x", state="sent", sent_at=NOW)
    later = sent(alice, "mid.3", NOW + dt.timedelta(minutes=5))
    bobs = sent(bob, "mid.4", NOW - dt.timedelta(minutes=10))
    # when Messenger says alice read everything up to NOW
    receipt(account, "read", user="psid-alice", watermark=NOW)
    # then
    read = set(Delivery.objects.filter(read_at=NOW).values_list("pk", flat=True))
    assert earlier.pk in read and len(read) == 2
    assert later.pk not in read and bobs.pk not in read
