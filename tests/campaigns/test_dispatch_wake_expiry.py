"""A dispatch wake-up outlives a worker's consumer lag: seen once, a worker took its messages in
10-s bursts, and every wake-up its own ticks sent arrived just past a 10-s expiry and was
dropped, so nothing went out until the lag ended."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from campaigns.tasks import dispatch_wake
from tests.workers import queued_messages

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def test_a_dispatch_wake_up_waits_30_seconds_for_a_worker_before_it_expires(
    django_capture_on_commit_callbacks,
):
    queued_messages(take=True)
    sent = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_wake(4242)

    [message] = [m for m in queued_messages(take=True)
                 if m["headers"]["task"] == "campaigns.dispatch_account"]  # fmt: skip
    expires = datetime.fromisoformat(message["headers"]["expires"])
    assert expires - sent >= timedelta(seconds=29)
