"""Stats for a 1,000,000-delivery campaign and the programme dashboard over 30 days: seconds,
beside the naive ORM way of computing the same figures.

    .venv/bin/python bench/stats.py [--deliveries 1000000] [--database-url URL] [--keep]

Creates the PostgreSQL database `comeback_bench_stats` next to DATABASE_URL (or uses the one
given) and fills, in SQL: one customer and one chat per delivery on four platforms (Telegram:
no receipts; VK: reads only; Viber and WhatsApp: deliveries and reads), a one-off survey
campaign of `--deliveries` rows (5% held out, 60% of the rest read on the platforms that say
so, 8% clicked, 4% answered with a score, 1% replied, 0.5% unsubscribed within 48 h), orders
for a fifth of the customers in two currencies, attributed when the message was read or
clicked; and 29 more daily campaigns of 30,000 rows over the last 30 days for the programme.

Then times, best of three: campaign_stats (every figure, computed), the admin campaign stats
page computing them, the worker's snapshot refresh, the page and the API reading the snapshot
(campaigns/stats_snapshot.py), programme_stats(days=30) and the programme dashboard page
computing them, its snapshot's refresh and the page reading it; and
the naive ORM way: one COUNT per figure per channel, time to open read into Python and sorted
there. Target: the campaign stats page <= 1 s.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

KINDS = ("telegram", "viber", "whatsapp", "vk")
DAILY_CAMPAIGNS, DAILY_ROWS = 29, 30_000


def fill(deliveries: int, accounts: list[int], campaign: int, daily: list[int]) -> None:
    """Customers, chats, the big campaign's deliveries and their aftermath, orders, the dailies."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscriptions_customer"
            " (external_id, name, email, phone, locale, time_zone, created_at, updated_at,"
            " is_anonymous) SELECT 'bench-' || g, '', '', '', 'en', 'UTC',"
            " now() - interval '60 days', now(), false FROM generate_series(1, %s) g",
            [deliveries],
        )
        cursor.execute(
            "INSERT INTO subscriptions_subscription (customer_id, account_id, platform_user_id,"
            " status, wants_menu, wants_surveys, wants_promotions, source, attribution, locale,"
            " subscribed_at, created_at, device, utm)"
            " SELECT c.id, (ARRAY[%s, %s, %s, %s])[1 + c.id %% 4], 'u' || c.id, 'active',"
            " true, true, true, 'bench', '', '', now() - interval '60 days', now(), '', '{}'"
            " FROM subscriptions_customer c",
            accounts,
        )
        # The big campaign, ten days ago over two hours. Viber (2) and WhatsApp (3) report
        # deliveries, those and VK (4) reads; the open time spreads over a day, most early.
        cursor.execute(
            "INSERT INTO campaigns_delivery (campaign_id, occurrence, subscription_id,"
            " account_id, priority, due_at, state, attempts, claimed_by, provider_message_id,"
            " reason, created_at, sent_at, delivered_at, read_at, clicked_at, answered_at)"
            " SELECT %s, 'once', s.id, s.account_id, 2, t.due,"
            " CASE WHEN h THEN 'skipped' ELSE 'sent' END, 1, '', CASE WHEN h THEN '' ELSE"
            " 'm' || s.id END, CASE WHEN h THEN 'holdout' ELSE '' END, t.due,"
            " CASE WHEN NOT h THEN t.due END,"
            " CASE WHEN NOT h AND k IN (2, 3) THEN t.due + interval '3 seconds' END,"
            " CASE WHEN NOT h AND k IN (2, 3, 4) AND s.id %% 10 < 6 THEN t.due"
            "  + interval '1 second' * power((s.id * 7919) %% 1000, 2) / 10 END,"
            " CASE WHEN NOT h AND s.id %% 12 = 1 THEN t.due + interval '20 minutes' END,"
            " CASE WHEN NOT h AND s.id %% 25 = 2 THEN t.due + interval '30 minutes' END"
            " FROM subscriptions_subscription s,"
            " LATERAL (SELECT s.customer_id %% 20 = 0 AS h, 1 + s.customer_id %% 4 AS k,"
            "  now() - interval '10 days' + interval '1 second' * (s.id %% 7200) AS due) t",
            [campaign],
        )
        cursor.execute(
            "INSERT INTO campaigns_surveyanswer (delivery_id, score, comment, items, answered_at)"
            " SELECT id, 1 + id %% 5, '', '[]', answered_at FROM campaigns_delivery"
            " WHERE answered_at IS NOT NULL",
            [],
        )
        cursor.execute(
            "INSERT INTO channels_inboundevent (account_id, kind, platform_user_id, event_id,"
            " occurred_at, text, token, payload, message_ids, reason, user_name, locale, raw,"
            " received_at)"
            " SELECT d.account_id, 'text', s.platform_user_id, 'e' || d.id,"
            " d.sent_at + interval '1 hour', 'thanks', '', '', '[]', '', '', '', '{}', now()"
            " FROM campaigns_delivery d JOIN subscriptions_subscription s"
            " ON s.id = d.subscription_id WHERE d.state = 'sent' AND d.id %% 100 = 3",
            [],
        )
        cursor.execute(
            "UPDATE subscriptions_subscription s SET status = 'unsubscribed',"
            " unsubscribed_at = d.sent_at + interval '5 hours' FROM campaigns_delivery d"
            " WHERE d.subscription_id = s.id AND d.state = 'sent' AND s.id %% 200 = 7",
            [],
        )
        cursor.execute(
            "INSERT INTO subscriptions_order (external_id, customer_id, total, currency, status,"
            " placed_at, created_at, updated_at)"
            " SELECT 'o' || s.customer_id, s.customer_id, 20 + s.customer_id %% 30,"
            " CASE WHEN s.customer_id %% 2 = 0 THEN 'EUR' ELSE 'PLN' END, 'paid',"
            " d.due_at + interval '2 days', now(), now()"
            " FROM campaigns_delivery d JOIN subscriptions_subscription s"
            " ON s.id = d.subscription_id WHERE s.customer_id %% 5 IN (0, 1)",
            [],
        )
        cursor.execute(
            "INSERT INTO campaigns_attribution (order_id, delivery_id, via, attributed_at)"
            " SELECT o.id, d.id, CASE WHEN d.clicked_at IS NULL THEN 'read' ELSE 'click' END,"
            " o.placed_at FROM subscriptions_order o"
            " JOIN subscriptions_subscription s ON s.customer_id = o.customer_id"
            " JOIN campaigns_delivery d ON d.subscription_id = s.id"
            " WHERE d.read_at IS NOT NULL OR d.clicked_at IS NOT NULL",
            [],
        )
        # The programme: one daily campaign of DAILY_ROWS per day over the last 29 days.
        for day, daily_campaign in enumerate(daily, start=1):
            cursor.execute(
                "INSERT INTO campaigns_delivery (campaign_id, occurrence, subscription_id,"
                " account_id, priority, due_at, state, attempts, claimed_by,"
                " provider_message_id, reason, created_at, sent_at, delivered_at, read_at,"
                " clicked_at)"
                " SELECT %s, 'once', s.id, s.account_id, 2, t.due, 'sent', 1, '', '', '',"
                " t.due, t.due, CASE WHEN s.account_id IN (%s, %s) THEN t.due END,"
                " CASE WHEN s.account_id <> %s AND s.id %% 2 = 0 THEN t.due"
                "  + interval '1 second' * (s.id %% 5000) END,"
                " CASE WHEN s.id %% 10 = 0 THEN t.due + interval '5 minutes' END"
                " FROM subscriptions_subscription s,"
                " LATERAL (SELECT now() - interval '1 day' * %s AS due) t"
                " WHERE s.id %% %s = %s LIMIT %s",
                [daily_campaign, accounts[1], accounts[2], accounts[0], day,
                 max(deliveries // DAILY_ROWS, 1), day % max(deliveries // DAILY_ROWS, 1),
                 DAILY_ROWS],
            )  # fmt: skip
        cursor.execute("VACUUM ANALYZE")


def best_of(label: str, run: Callable[[], object], times: int = 3) -> float:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    print(
        f"  {label:<52} best {min(seconds):6.2f} s  (runs {', '.join(f'{s:.2f}' for s in seconds)})"
    )
    return min(seconds)


def naive_campaign(campaign_id: int) -> dict:
    """The same headline figures the obvious ORM way: a COUNT per figure and channel, time to
    open read into Python and sorted there, revenue summed per currency."""
    from django.db.models import Count, Sum

    from campaigns.models import Attribution, Delivery

    figures = {}
    for kind in KINDS:
        sent = Delivery.objects.filter(campaign_id=campaign_id, account__kind=kind, state="sent")
        row = {"sent": sent.count()}
        for field in ("delivered_at", "read_at", "clicked_at", "answered_at"):
            row[field] = sent.filter(**{f"{field}__isnull": False}).count()
        opens = sorted(
            (read - sent_at).total_seconds()
            for sent_at, read in sent.filter(read_at__isnull=False).values_list(
                "sent_at", "read_at"
            )
        )
        if opens:
            row["median"] = statistics.median(opens)
            row["p90"] = opens[int(0.9 * (len(opens) - 1))]
        figures[kind] = row
    figures["revenue"] = list(
        Attribution.objects.filter(delivery__campaign_id=campaign_id)
        .values("order__currency")
        .annotate(n=Count("pk"), total=Sum("order__total"))
    )
    return figures


def page(client: object, url: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.status_code
        return response

    return get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    common.database_args(parser)
    args = parser.parse_args()
    with common.bench_database_for("comeback_bench_stats", args) as url:
        common.django_setup(url)
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.test import Client

        from campaigns.models import Campaign
        from campaigns.programme import programme_stats
        from campaigns.stats import campaign_stats
        from campaigns.stats_snapshot import (
            campaign_stats_snapshot,
            programme_snapshot_refresh,
            stats_snapshot_refresh,
        )
        from channels.models import ChannelAccount

        accounts = [ChannelAccount.objects.create(kind=k, name=f"bench-{k}") for k in KINDS]
        content = {"default": {"text": "How was it?"}}
        big = Campaign.objects.create(
            name="bench survey", kind="one_off", category="survey", status="finished",
            holdout_percent=5, content=content,
        )  # fmt: skip
        daily = [
            Campaign.objects.create(
                name=f"daily {i}", kind="one_off", category="marketing", status="finished",
                content=content,
            ).pk
            for i in range(DAILY_CAMPAIGNS)
        ]  # fmt: skip
        started = time.perf_counter()
        fill(args.deliveries, [a.pk for a in accounts], big.pk, daily)
        total = big.deliveries.count()
        print(f"filled {total:,} + {DAILY_CAMPAIGNS} x {DAILY_ROWS:,} deliveries in "
              f"{time.perf_counter() - started:.0f} s; {common.conditions()}")  # fmt: skip

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        admin = User.objects.create_superuser("bench", "bench@example.com", "x")
        client = Client()
        client.force_login(admin)
        print(f"campaign of {total:,} deliveries:")
        ours = best_of("campaign_stats (the figures, computed)", lambda: campaign_stats(big))
        stats_page = page(client, f"/admin/campaigns/campaign/{big.pk}/stats/")
        settings.STATS_SNAPSHOT_MAX_AGE = 0  # every request computes
        best_of("admin campaign stats page, figures computed", stats_page)
        settings.STATS_SNAPSHOT_MAX_AGE = 300
        best_of(
            "the worker's refresh of its snapshot", lambda: stats_snapshot_refresh(campaign=big)
        )
        shown = best_of("admin campaign stats page, from the snapshot", stats_page)
        best_of("GET /api/v1/campaigns/{id}/stats/, from the snapshot",
                lambda: campaign_stats_snapshot(big))  # fmt: skip
        naive = best_of("naive ORM (COUNT per figure, opens sorted in Python)",
                        lambda: naive_campaign(big.pk))  # fmt: skip
        print("programme, last 30 days:")
        best_of("programme_stats(days=30)", lambda: programme_stats(days=30))
        dashboard = page(client, "/admin/campaigns/campaign/programme/?days=30")
        settings.STATS_SNAPSHOT_MAX_AGE = 0
        best_of("admin programme dashboard page, figures computed", dashboard)
        settings.STATS_SNAPSHOT_MAX_AGE = 300
        best_of("the worker's refresh of its snapshot", lambda: programme_snapshot_refresh(days=30))
        best_of("admin programme dashboard page, from the snapshot", dashboard)
        verdict = "OK" if shown <= 1 else "OVER TARGET"
        print(f"campaign stats page: {shown:.2f} s (target <= 1 s): {verdict}; figures "
              f"{ours:.2f} s vs naive {naive:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
