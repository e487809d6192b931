"""A big audience is written by several connections at once (PostgreSQL only)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Delivery
from campaigns.services import campaign_launch, materialize_tick
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
    campaign = one_off(send_at=NOW, status="scheduled")

    # when the tick materializes it (holding the campaign's lock while the slices write)
    with CaptureQueriesContext(connection) as queries:
        created = materialize_tick(now=NOW, refresh=False)

    # then each customer has one row, on their most recently active channel, written by
    # three statements on other connections (none on the caller's)
    assert created == 8
    assert audience(campaign) == {s.pk for s in chosen}
    assert not [q for q in queries.captured_queries if "INSERT INTO campaigns_delivery" in q["sql"]]
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_a_launch_writes_its_rows_in_one_statement_of_its_own_transaction(sliced):
    # A launch that fails after a slice committed would leave that slice's rows due, for a
    # campaign still in draft: its rows commit with it or not at all.
    for _ in range(4):
        subscriber()
    campaign = one_off(send_at=NOW, status="draft")

    with CaptureQueriesContext(connection) as queries:
        _, created = campaign_launch(campaign_id=campaign.pk, now=NOW)

    inserts = [q for q in queries.captured_queries if "INSERT INTO campaigns_delivery" in q["sql"]]
    assert created == 4
    assert len(inserts) == 1
    assert "customer_id %" not in inserts[0]["sql"]


def test_each_slice_commits_its_rows_with_statistics_that_count_them(sliced, settings):
    # A slice's rows are due once it commits: a dispatcher that planned its queries on
    # statistics without them read the whole campaign per subscription (23 s a batch,
    # bench/trigger_latency.py --with-campaign).
    settings.MATERIALIZE_ANALYZE_ROWS = 1
    for _ in range(6):
        subscriber()
    campaign = one_off(send_at=NOW, status="scheduled")
    before = analyze_count()

    assert materialize_tick(now=NOW, refresh=False) == 6

    # three slices, each analyzing before its commit, then the tick's own after them all
    assert analyze_count() - before == 3 + 1
    assert len(audience(campaign)) == 6


def analyze_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'campaigns_delivery'"
        )
        return cursor.fetchone()[0]


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
