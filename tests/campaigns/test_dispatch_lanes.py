"""The bulk lane (campaigns/dispatch/lanes.py): a campaign's backlog is sent by the worker of
DISPATCH_BULK_QUEUE, triggered and service messages by the main worker."""

from collections import Counter

import pytest
import redis
from django.utils import timezone

from campaigns.dispatch import Dispatcher, lanes
from campaigns.models import Delivery
from campaigns.tasks import dispatch_wake
from tests.campaigns.test_dispatch import delivered_ids, make_deliveries, states
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def bulk_queue(settings):
    settings.DISPATCH_BULK_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.bulk"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(settings.DISPATCH_BULK_QUEUE, lanes._key())
    yield settings.DISPATCH_BULK_QUEUE
    client.delete(settings.DISPATCH_BULK_QUEUE, lanes._key())
    client.close()


@pytest.mark.django_db(transaction=True)
def test_the_main_lane_hands_a_campaign_backlog_to_a_live_bulk_worker(account_on, bulk_queue):
    # given a backlog of marketing rows (more than one batch) and a bulk worker announced
    account = account_on("telegram", rate_limit=10)
    make_deliveries(account, 25)
    lanes.announce()

    stats = Dispatcher(account, run_seconds=5).run()

    # then the main lane sent none of them and left them due for the bulk lane
    assert stats.stopped == lanes.TO_BULK
    assert states(account) == Counter({"pending": 25})


@pytest.mark.django_db(transaction=True)
def test_without_a_live_bulk_worker_the_main_lane_keeps_the_campaign(
    account_on, fake_platform, bulk_queue, settings
):
    settings.DISPATCH_IDLE_SECONDS = 0
    account = account_on("telegram", rate_limit=100)
    make_deliveries(account, 120)

    stats = Dispatcher(account, run_seconds=10).run()

    assert stats.stopped == "nothing due"
    assert states(account) == Counter({"sent": 120})


@pytest.mark.django_db(transaction=True)
def test_the_main_lane_keeps_a_batch_with_a_service_row(account_on, fake_platform, bulk_queue,
                                                         settings):  # fmt: skip
    settings.DISPATCH_IDLE_SECONDS = 0
    account = account_on("telegram", rate_limit=100)
    make_deliveries(account, 99)
    make_deliveries(account, 1, category="service")
    lanes.announce()

    stats = Dispatcher(account, run_seconds=10).run()

    assert stats.states == {"sent": 100}  # the whole backlog fit in one batch with the service row


@pytest.mark.django_db(transaction=True)
def test_the_bulk_lane_hands_the_account_back_when_a_service_row_is_due(account_on, bulk_queue):
    account = account_on("telegram", rate_limit=10)
    make_deliveries(account, 30)
    make_deliveries(account, 1, category="survey")

    stats = Dispatcher(account, run_seconds=5, lane=lanes.BULK).run()

    assert stats.stopped == lanes.TO_MAIN
    assert states(account) == Counter({"pending": 31})


@pytest.mark.django_db(transaction=True)
def test_a_backlog_goes_out_through_the_bulk_worker_and_service_through_the_main_one(
    account_on, fake_platform, bulk_queue
):
    # given a main worker and a bulk worker (what the Procfile's `worker` and `bulk` run)
    account = account_on("telegram", rate_limit=40)
    campaign_rows = make_deliveries(account, 120)
    lane = {"DISPATCH_BULK_QUEUE": bulk_queue}
    with (
        celery_worker(name="main", **lane) as main,
        celery_worker(name="bulk", queue=bulk_queue, **lane) as bulk,
    ):
        wait_for(lanes.bulk_worker_alive, timeout=10)
        # when the campaign is woken in the main lane, and a service message comes meanwhile
        dispatch_wake(account.pk)
        wait_for(lambda: states(account)["sent"] >= 20, timeout=30)
        service_came = timezone.now()
        service = make_deliveries(account, 1, category="service")[0]
        dispatch_wake(account.pk)
        wait_for(lambda: states(account)["sent"] == 121, timeout=60)

    # then every row went out once: the backlog through the bulk worker until the service
    # message came, which the main worker sent (with the rest of its batch)
    expected = {d.pk: 1 for d in [*campaign_rows, service]}
    assert delivered_ids(fake_platform, "telegram") == Counter(expected)
    backlog = Delivery.objects.filter(campaign=campaign_rows[0].campaign)
    before = Counter(_pid(o) for o in backlog.filter(sent_at__lt=service_came).values_list(
        "claimed_by", flat=True))  # fmt: skip
    assert before.keys() == {bulk.pid} and before[bulk.pid] >= 20
    assert _pid(Delivery.objects.get(pk=service.pk).claimed_by) == main.pid
    after = Counter(_pid(o) for o in backlog.values_list("claimed_by", flat=True))
    assert set(after) == {bulk.pid, main.pid}


def _pid(owner: str) -> int:
    return int(owner.split(":")[-2])


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_the_main_lane_keeps_the_campaign(account_on, bulk_queue, settings):
    # given a backlog and a bulk worker that announced itself, then Redis out of reach
    account = account_on("telegram", rate_limit=10)
    make_deliveries(account, 25)
    lanes.announce()
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there

    # then no hand-over: nothing can say a bulk worker is alive
    assert lanes.bulk_worker_alive() is False
    rows = list(Delivery.objects.filter(account=account).select_related("campaign")[:10])
    assert lanes.hand_over(lanes.MAIN, rows, batch=10) == ""
