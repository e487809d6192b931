"""Materialize one campaign over a million subscribers: seconds and peak RSS.

    .venv/bin/python bench/materialize.py [--subscribers 1000000] [--database-url URL] [--keep]

Without --database-url it creates the PostgreSQL database `comeback_bench_materialize` next to
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/comeback), migrates it, fills it with
`INSERT … SELECT generate_series` and drops it at the end. Targets (issue #14): one-off
materialization of 1,000,000 subscribers in <= 8 s, weekly with three time zones in <= 10 s,
peak RSS of this process <= 200 MB (the rows never pass through Python: that is the point of
set-based SQL). Each step runs in a transaction, commit
included (PostgreSQL checks the deferred foreign keys then), and also prints the CPU seconds of
all PostgreSQL processes, which stays comparable when other processes share the machine. The
whole-audience one-off runs twice side by side: as the tick does (MATERIALIZE_SLICES, one
statement by default), and the other way (two slices, or one statement if slices are set).
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

ZONES = ("Europe/Moscow", "America/New_York", "Asia/Tokyo")


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(subscribers: int, account_id: int) -> None:
    """Customers in three zones and languages, each with one active subscription."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscriptions_customer"
            " (external_id, name, email, phone, locale, time_zone, created_at, updated_at,"
            " is_anonymous)"
            " SELECT 'bench-' || g, '', '', '', (ARRAY['en','ru','uk'])[1 + g %% 3],"
            " (ARRAY[%s, %s, %s])[1 + g %% 3], now(), now(), false"
            " FROM generate_series(1, %s) g",
            [*ZONES, subscribers],
        )
        cursor.execute(
            "INSERT INTO subscriptions_subscription (customer_id, account_id, platform_user_id,"
            " status, wants_menu, wants_surveys, wants_promotions, source, attribution, locale,"
            " subscribed_at, created_at, device, utm)"
            " SELECT c.id, %s, 'u' || c.id, 'active', true, true, true, 'bench', '', '',"
            " now(), now(), '', '{}' FROM subscriptions_customer c",
            [account_id],
        )
    # As a live table is: vacuumed (hint bits set, all-visible pages) and checkpointed, so the
    # pass measured below does not pay for the fill's housekeeping.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def database_cpu() -> float | None:
    """CPU seconds used so far by every PostgreSQL process (when the server is local): the
    pass may run on several backends at once."""
    total, found = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].split(")", 1)
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        if name == "postgres":
            found = True
            values = fields.split()
            # Its own time and its reaped children's: a backend that has exited (a slice's
            # connection) is counted in the postmaster's.
            total += sum(int(value) for value in values[11:15])
    return total / os.sysconf("SC_CLK_TCK") if found else None


def timed(label: str, run) -> float:
    """Run `run()` in a transaction like the tick does; print wall time, DB CPU and peak RSS."""
    from django.db import transaction

    cpu = database_cpu()
    started = time.perf_counter()
    with transaction.atomic():
        result = run()
    seconds = time.perf_counter() - started
    used = database_cpu()
    db = f"{used - cpu:6.2f} s" if cpu is not None and used is not None else "   n/a"
    print(f"{label:<44} {seconds:6.2f} s (DB CPU {db})   rows {result:>9,}   RSS {rss_mb():.0f} MB")
    return seconds


def settle() -> None:
    """Empty the delivery table and let PostgreSQL's housekeeping finish, so each measured
    pass starts from the same state (autovacuum of the last pass's rows would compete)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE campaigns_delivery CASCADE")
        cursor.execute("VACUUM ANALYZE campaigns_delivery")
        cursor.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    common.database_args(parser)
    args = parser.parse_args()
    with common.bench_database_for("comeback_bench_materialize", args) as url:
        common.django_setup(url)
        import datetime as dt

        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from campaigns.materialize import (
            analyze_deliveries,
            one_off_materialize,
            recurring_materialize,
        )
        from campaigns.models import Campaign
        from channels.models import ChannelAccount

        account = ChannelAccount.objects.create(kind="telegram", name="bench-telegram")
        started = time.perf_counter()
        fill(args.subscribers, account.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('shared_buffers'), current_setting('max_wal_size')"
            )
            buffers, wal = cursor.fetchone()
        print(
            f"PostgreSQL {connection.pg_version} (shared_buffers {buffers}, max_wal_size {wal}), "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {sys.version[:6]}"
        )
        print(f"filled {args.subscribers:,} subscribers in {time.perf_counter() - started:.1f} s")
        print(f"peak RSS before materializing: {rss_mb():.1f} MB")
        now = timezone.now()
        slices = settings.MATERIALIZE_SLICES

        def campaign(name: str, **fields: object) -> Campaign:
            defaults = {"kind": "one_off", "status": "scheduled", "send_at": now,
                        "category": "marketing", "topic": "promotions"}  # fmt: skip
            return Campaign.objects.create(
                name=name, content={"default": {"text": "Hi {name}"}}, **(defaults | fields)
            )

        settle()
        one_off = campaign("bench")
        seconds = timed(
            f"one-off, whole audience, {slices} slice(s) (target <= 8 s)",
            lambda: one_off_materialize(campaign=one_off, now=now),
        )
        timed(
            "then ANALYZE, as the tick does after it",
            lambda: analyze_deliveries() or 0,
        )
        timed(
            "same again: idempotent, inserts nothing",
            lambda: one_off_materialize(campaign=one_off, now=now),
        )
        settle()
        settings.MATERIALIZE_SLICES = other = 2 if slices == 1 else 1
        settings.MATERIALIZE_SLICE_MIN_ROWS = 0
        single = campaign("bench-other")
        timed(
            f"one-off, whole audience, {other} slice(s)",
            lambda: one_off_materialize(campaign=single, now=now),
        )
        settings.MATERIALIZE_SLICES = slices
        settle()
        filtered = campaign("bench-ru", languages=["ru"])
        timed(
            "one-off, languages=[ru] (a third)",
            lambda: one_off_materialize(campaign=filtered, now=now),
        )
        settle()
        weekday = (now.weekday() + 1) % 7
        weekly = campaign("bench-weekly", kind="recurring", status="running", topic="menu",
                          send_at=None, weekday=weekday, local_time=dt.time(10))  # fmt: skip
        settings.RECURRING_LOOKAHEAD_HOURS = 24 * 7
        weekly_seconds = timed(
            "weekly, 3 time zones (target <= 10 s)",
            lambda: recurring_materialize(campaign=weekly, now=now),
        )
        peak = rss_mb()
        verdict = "OK" if seconds <= 8 and weekly_seconds <= 10 and peak <= 200 else "OVER TARGET"
        print(
            f"{args.subscribers:,} subscribers: one-off {seconds:.2f} s, weekly"
            f" {weekly_seconds:.2f} s, peak RSS {peak:.1f} MB: {verdict}"
        )


if __name__ == "__main__":
    main()
