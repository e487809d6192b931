"""The webhook's account look-up is remembered ACCOUNT_CACHE_SECONDS per process: a change
saved here counts at once, one made by another process within that time."""

import time

import pytest

from channels.models import ChannelAccount, InboundEvent
from channels.views import ACCOUNT_CACHE_SECONDS
from tests.channels.webhooks import deliver_signed, fixture
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db


def test_an_account_disabled_here_stops_answering_at_once(client):
    account = ChannelAccountFactory(kind="telegram")
    assert deliver_signed(client, account, fixture("telegram", "message_text")).status_code == 200

    account.enabled = False
    account.save()

    response = deliver_signed(client, account, fixture("telegram", "message_text"))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")  # for a machine, not a page
    assert response.content == b"no such account"
    assert InboundEvent.objects.count() == 1  # the first update only


def test_an_account_disabled_elsewhere_stops_within_the_cache_time(client, monkeypatch):
    account = ChannelAccountFactory(kind="telegram")
    body = fixture("telegram", "message_text")
    assert deliver_signed(client, account, body).status_code == 200
    clock = [time.monotonic()]
    monkeypatch.setattr("config.recent_rows.time.monotonic", lambda: clock[0])

    # another process disables it (a plain UPDATE: no signal reaches this one)
    ChannelAccount.objects.filter(pk=account.pk).update(enabled=False)

    assert deliver_signed(client, account, body).status_code == 200
    clock[0] += ACCOUNT_CACHE_SECONDS
    assert deliver_signed(client, account, body).status_code == 404


def test_a_new_secret_saved_here_is_checked_at_once(client):
    account = ChannelAccountFactory(kind="telegram")
    body = fixture("telegram", "message_text")
    assert deliver_signed(client, account, body).status_code == 200

    old = account.webhook_secret
    account.webhook_secret = "a-new-secret"
    account.save()

    forged = {"X-Telegram-Bot-Api-Secret-Token": old}
    response = client.post(
        f"/hooks/{account.name}/", body, content_type="application/json", headers=forged
    )
    assert response.status_code == 403
    assert deliver_signed(client, account, body).status_code == 200
