"""A webhook whose reply cannot be queued (broker down) is still answered and handled once."""

import pytest

from channels.models import InboundEvent
from tests.channels.webhooks import deliver_signed, fixture
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db


def test_it_answers_200_and_logs_the_reply_it_could_not_queue(
    client, broker_down, caplog, django_capture_on_commit_callbacks
):
    # given a broker address where nothing listens (broker_down)
    account = ChannelAccountFactory(kind="telegram")

    # when a customer writes (the bot answers how to subscribe)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_signed(client, account, fixture("telegram", "message_text"))

    # then the platform hears 200 (a 500 would only bring the update back, not the reply),
    # the update is stored and handled, and the lost reply is logged
    assert response.status_code == 200
    assert InboundEvent.objects.get().processed_at is not None
    assert "not queued (broker unreachable?)" in caplog.text
