"""A big audience is written by several connections at once (PostgreSQL only)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Delivery
from campaigns.services import campaign_launch
from tests.campaigns.test_materialize import NOW, audience, one_off, subscriber
from tests.factories import ChannelAccountFactory, CustomerFactory

# Slices commit on their own connections: the data they read must be committed first.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sliced(settings):
    """Every statement in three slices, whatever the table size."""
    settings.MATERIALIZE_SLICES = 3
    settings.MATERIALIZE_SLICE_MIN_ROWS = 0


def test_it_writes_the_same_rows_in_slices_as_in_one_statement(sliced):
    # given customers on two channels each, and a customer on one
    telegram, viber = ChannelAccountFactory(kind="telegram"), ChannelAccountFactory(kind="viber")
    chosen = []
    for n in range(7):
        customer = CustomerFactory()
        subscriber(customer=customer, account=telegram, last_inbound_at=NOW - dt.timedelta(days=1))
        chosen.append(
            subscriber(
                customer=customer, account=viber, last_inbound_at=NOW + dt.timedelta(seconds=n)
            )
        )
    chosen.append(subscriber(account=telegram))
    campaign = one_off(send_at=NOW, status="draft")

    # when it is launched (the launch holds the campaign's lock while the slices write)
    with CaptureQueriesContext(connection) as queries:
        _, created = campaign_launch(campaign_id=campaign.pk, now=NOW)

    # then each customer has one row, on their most recently active channel, written by
    # three statements on other connections (none on the caller's)
    assert created == 8
    assert audience(campaign) == {s.pk for s in chosen}
    assert not [q for q in queries.captured_queries if "INSERT INTO campaigns_delivery" in q["sql"]]
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_a_second_sliced_pass_inserts_nothing(sliced):
    subscriber()
    subscriber()
    campaign = one_off(send_at=NOW, status="draft")
    campaign_launch(campaign_id=campaign.pk, now=NOW)

    from campaigns.materialize import one_off_materialize

    assert one_off_materialize(campaign=campaign, now=NOW) == 0
    assert Delivery.objects.filter(campaign=campaign).count() == 2


def test_it_writes_small_audiences_in_one_statement(settings):
    # given the default threshold and a small table
    settings.MATERIALIZE_SLICES = 3
    subscriber()
    campaign = one_off(send_at=NOW, status="draft")

    with CaptureQueriesContext(connection) as queries:
        campaign_launch(campaign_id=campaign.pk, now=NOW)

    inserts = [q for q in queries.captured_queries if "INSERT INTO campaigns_delivery" in q["sql"]]
    assert len(inserts) == 1
    assert "customer_id %" not in inserts[0]["sql"]
