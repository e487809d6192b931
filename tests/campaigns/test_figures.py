"""A campaign's figures per channel: known reads (through the real webhook), clicks, answers,
replies, unsubscribes and orders in, every figure checked exactly."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Attribution, Delivery
from campaigns.stats import campaign_stats
from campaigns.tracking import tracked_link
from campaigns.triggers import order_events_drain
from channels.models import ChannelAccount
from channels.sandbox.services import sandbox_event_post
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)
from tests.subscriptions.api_support import (  # noqa: F401 - fixtures
    api_fixture,
    api_key_fixture,
    order_body,
)

pytestmark = pytest.mark.django_db
T0 = timezone.now() - dt.timedelta(days=3)
SHOP = "https://shop.example/menu"


def sent(campaign, account, n, **fields):
    return DeliveryFactory(
        campaign=campaign,
        subscription=SubscriptionFactory(account=account, platform_user_id=f"{account.kind}-{n}"),
        state="sent",
        sent_at=T0,
        provider_message_id=f"m-{account.kind}-{n}",
        **fields,
    )


@pytest.fixture
def sandbox() -> ChannelAccount:
    return ChannelAccount.objects.filter(kind="sandbox").first() or ChannelAccountFactory(
        kind="sandbox", name="sandbox"
    )


def chat(delivery) -> str:
    return delivery.subscription.platform_user_id


def path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_every_figure_per_channel(sandbox, client, api):
    campaign = CampaignFactory(kind="one_off", category="survey")
    # given five sandbox messages, four delivered; three read after 2, 10 and 40 minutes (the
    # reads arrive through the webhook, stamped now: the sends are moved back to match)
    rows = [sent(campaign, sandbox, n, delivered_at=T0) for n in range(4)]
    rows.append(sent(campaign, sandbox, 4))
    for row, minutes in zip(rows, (2, 10, 40), strict=False):
        read = {"type": "read", "id": f"r{row.pk}", "message_ids": [row.provider_message_id]}
        sandbox_event_post(account=sandbox, conversation=row.subscription.platform_user_id,
                           event=read)  # fmt: skip
        row.refresh_from_db()
        assert row.read_at is not None
        type(row).objects.filter(pk=row.pk).update(
            sent_at=row.read_at - dt.timedelta(minutes=minutes)
        )
    # one clicked its tracked link, two answered the survey with the buttons (scores 5 and 2),
    # one (sent an hour ago) wrote back: all through the real endpoints
    assert client.get(path(tracked_link(delivery_id=rows[0].pk, url=SHOP))).status_code == 302
    for row, score in ((rows[1], 5), (rows[3], 2)):
        press = {"type": "button", "id": f"b{row.pk}", "payload": f"survey:{row.pk}:{score}"}
        sandbox_event_post(account=sandbox, conversation=chat(row), event=press)
    type(rows[4]).objects.filter(pk=rows[4].pk).update(
        sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    reply = {"type": "text", "id": "reply-1", "text": "hi, a question"}
    sandbox_event_post(account=sandbox, conversation=chat(rows[4]), event=reply)
    # one unsubscribed within 48 h, one blocked after three days (not counted)
    rows[2].refresh_from_db()
    rows[2].subscription.__class__.objects.filter(pk=rows[2].subscription_id).update(
        status="unsubscribed", unsubscribed_at=rows[2].sent_at + dt.timedelta(hours=5)
    )
    rows[4].subscription.__class__.objects.filter(pk=rows[4].subscription_id).update(
        status="blocked", unsubscribed_at=timezone.now() + dt.timedelta(days=3)
    )
    # and on Telegram (no receipts at all): two sent, one clicked
    telegram = ChannelAccountFactory(kind="telegram")
    clicked = sent(campaign, telegram, 0)
    sent(campaign, telegram, 1)
    assert client.get(path(tracked_link(delivery_id=clicked.pk, url=SHOP))).status_code == 302
    # orders attributed in two currencies
    # and three later orders, posted by the shop through the order API: each is credited to the
    # message its customer last clicked or read
    for n, (row, total, currency) in enumerate(
        ((rows[0], "10.00", "EUR"), (rows[1], "5.50", "EUR"), (clicked, "990.00", "RUB"))
    ):
        customer = row.subscription.customer
        body = order_body(
            external_id=f"later-{n}", total=total, currency=currency, items=[],
            customer={"external_id": customer.external_id, "name": customer.name},
            created_at=timezone.now().isoformat(),
        )  # fmt: skip
        assert api.post("/api/v1/orders/", body, format="json").status_code == 201
        now = timezone.now().isoformat()
        event = {"event_id": f"later-{n}", "type": "order.created",
                 "order_external_id": f"later-{n}", "occurred_at": now}  # fmt: skip
        assert api.post("/api/v1/events/", event, format="json").status_code == 201
    order_events_drain(now=timezone.now())  # what the worker's order-event task runs
    assert Attribution.objects.count() == 3

    stats = campaign_stats(campaign)

    box = stats["channels"]["sandbox"]
    assert (box["sent"], box["delivered"], box["read"]) == (5, 4, 3)
    assert box["open_rate"] == 75.0  # 3 read of 4 delivered
    assert box["time_to_open"]["median_seconds"] == 600  # nearest rank: 2nd of 3
    assert box["time_to_open"]["p90_seconds"] == 2400  # 3rd of 3
    histogram = box["time_to_open"]["histogram"]
    assert (histogram["< 5 min"], histogram["5-15 min"], histogram["30-60 min"]) == (1, 1, 1)
    assert sum(histogram.values()) == 3
    assert (box["clicked"], box["click_rate"]) == (1, 20.0)
    assert (box["answered"], box["replied"], box["engaged"]) == (2, 1, 4)
    assert (box["unsubscribed"], box["blocked"]) == (1, 0)
    tg = stats["channels"]["telegram"]
    assert (tg["sent"], tg["delivered"], tg["read"], tg["open_rate"]) == (2, None, None, None)
    assert tg["time_to_open"] is None and tg["reports"] == []
    assert (tg["engaged"], tg["engaged_rate"]) == (1, 50.0)
    assert stats["survey"]["scores"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert stats["survey"]["response_rate"] == 28.6  # 2 of 7 sent
    assert stats["attributed_by_currency"] == [
        {"currency": "EUR", "orders": 2, "revenue": "15.50"},
        {"currency": "RUB", "orders": 1, "revenue": "990.00"},
    ]
    assert (stats["attributed_orders"], stats["attributed_revenue"]) == (3, None)
    assert sum(day["sent"] for day in stats["per_day"]) == 7
    assert sum(day["read"] for day in stats["per_day"]) == 3


def test_the_embedded_databases_way_to_the_percentiles_gives_the_same_figures(sandbox, monkeypatch):
    """SQLite (make run's default) has no percentile_disc: the nearest-rank row fetch must
    agree with PostgreSQL's."""
    from django.db import connection

    from campaigns import figures

    campaign = CampaignFactory(kind="one_off")
    for n, minutes in enumerate((1, 7, 20, 45, 300)):
        sent(campaign, sandbox, n, delivered_at=T0, read_at=T0 + dt.timedelta(minutes=minutes))
    deliveries = Delivery.objects.filter(campaign=campaign)
    on_postgres = figures.channel_figures(deliveries)["sandbox"]["time_to_open"]
    monkeypatch.setattr(connection, "vendor", "sqlite")
    by_rank = figures.channel_figures(deliveries)["sandbox"]["time_to_open"]

    assert (on_postgres["median_seconds"], on_postgres["p90_seconds"]) == (1200, 18000)
    assert by_rank == on_postgres
