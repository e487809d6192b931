"""A platform's 429 met by a real worker: that account stops for the retry-after, others go on.

Real PostgreSQL, Redis, a Celery worker and the fake platform server. Dispatch runs last two
seconds and chain, so the pause spans several dispatchers: the one that met the 429 and the
ones that take the lease after it. The test plays beat (dispatch ticks every half second).
Times are the fake server's own arrival timestamps.
"""

from collections import Counter

import pytest

from campaigns.tasks import dispatch_tick
from tests.campaigns.test_dispatch import TELEGRAM_429, delivered_ids, make_deliveries, states
from tests.campaigns.test_engine_integration import beat_until
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
RETRY_AFTER = TELEGRAM_429["parameters"]["retry_after"]  # seconds, as the platform says
EARLY = 0.1  # seconds: clocks and rounding; a request this early would still be a bug
RESUMED_WITHIN = RETRY_AFTER + 4  # seconds: the pause, a tick or two and a new dispatcher
# A request granted its slot before the 429 came back (on a loaded box, or in a catch-up burst
# of the pacer) arrives just after the refused one: no dispatcher can recall it.
ON_ITS_WAY = 0.25  # seconds


def test_a_429_stops_every_request_on_that_account_for_its_retry_after(account_on, fake_platform):
    # given many due deliveries on a Telegram account and on a Viber account, 20/s each
    limited = account_on("telegram", rate_limit=20)
    other = account_on("viber", rate_limit=20)
    paused = make_deliveries(limited, 100)
    going = make_deliveries(other, 200)

    with celery_worker(concurrency=4, DISPATCH_RUN_SECONDS="2"):
        dispatch_tick.delay()
        wait_for(lambda: len(fake_platform.requests_for("telegram")) >= 20)
        # when Telegram answers the next request with 429 "retry after N"
        fake_platform.error("telegram", TELEGRAM_429, 429)
        beat_until(lambda: states(limited)["sent"] == 100 and states(other)["sent"] == 200)

    # then no request for that account arrived for the retry-after, and then sending resumed
    telegram = fake_platform.requests_for("telegram")
    [refused] = [r for r in telegram if r.answered == 429]
    after = [r.received_at - refused.received_at for r in telegram if r.seq > refused.seq]
    on_its_way = [t for t in after if t < ON_ITS_WAY]
    assert len(on_its_way) <= 2
    assert RETRY_AFTER - EARLY <= min(set(after) - set(on_its_way)) <= RESUMED_WITHIN
    # and the other account kept sending through the pause, from its start to its end
    viber = [r.received_at - refused.received_at for r in fake_platform.requests_for("viber")]
    assert any(0 < t < 1 for t in viber)
    assert any(RETRY_AFTER - 1 < t < RETRY_AFTER for t in viber)
    # and every delivery of both accounts went out exactly once
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in paused})
    assert delivered_ids(fake_platform, "viber") == Counter({d.pk: 1 for d in going})
    assert states(limited) == Counter({"sent": 100})
    assert states(other) == Counter({"sent": 200})
