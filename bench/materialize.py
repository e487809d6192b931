"""Materialize one campaign over a million subscribers: seconds and peak RSS.

    .venv/bin/python bench/materialize.py [--subscribers 1000000] [--database-url URL] [--keep]

Without --database-url it creates the PostgreSQL database `comeback_bench_materialize` next to
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/comeback), migrates it, fills it with
`INSERT … SELECT generate_series` and drops it at the end. Targets: one-off materialization of
1,000,000 subscribers in <= 15 s, peak RSS of this process <= 250 MB (the rows never pass
through Python: that is the point of set-based SQL). Each step runs in a transaction, commit
included (PostgreSQL checks the deferred foreign keys then), and also prints the CPU seconds of
the PostgreSQL backend, which stays comparable when other processes share the machine.
"""

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/comeback"
ZONES = ("Europe/Moscow", "America/New_York", "Asia/Tokyo")


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bench_database(name: str, given: str | None) -> Iterator[str]:
    """The URL of a fresh database `name` (dropped afterwards), or `given` as it is."""
    if given:
        yield given
        return
    import psycopg

    base = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    admin = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(base._replace(path=f"/{name}"))
    finally:
        if not os.environ.get("BENCH_KEEP"):
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def fill(subscribers: int, account_id: int) -> None:
    """Customers in three zones and languages, each with one active subscription."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscriptions_customer"
            " (external_id, name, email, phone, locale, time_zone, created_at, updated_at)"
            " SELECT 'bench-' || g, '', '', '', (ARRAY['en','ru','uk'])[1 + g %% 3],"
            " (ARRAY[%s, %s, %s])[1 + g %% 3], now(), now() FROM generate_series(1, %s) g",
            [*ZONES, subscribers],
        )
        cursor.execute(
            "INSERT INTO subscriptions_subscription (customer_id, account_id, platform_user_id,"
            " status, wants_menu, wants_surveys, wants_promotions, source, attribution, locale,"
            " subscribed_at, created_at)"
            " SELECT c.id, %s, 'u' || c.id, 'active', true, true, true, 'bench', '', '',"
            " now(), now() FROM subscriptions_customer c",
            [account_id],
        )
        cursor.execute("ANALYZE")


def backend_cpu() -> float | None:
    """CPU seconds used by this connection's PostgreSQL backend (when the server is local)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, run) -> float:
    """Run `run()` in a transaction like the tick does; print wall time, DB CPU and peak RSS."""
    from django.db import transaction

    cpu = backend_cpu()
    started = time.perf_counter()
    with transaction.atomic():
        result = run()
    seconds = time.perf_counter() - started
    used = backend_cpu()
    db = f"{used - cpu:6.2f} s" if cpu is not None and used is not None else "   n/a"
    print(f"{label:<44} {seconds:6.2f} s (DB CPU {db})   rows {result:>9,}   RSS {rss_mb():.0f} MB")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="use this database as it is (not dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if args.keep:
        os.environ["BENCH_KEEP"] = "1"
    with bench_database("comeback_bench_materialize", args.database_url) as url:
        django_setup(url)
        import datetime as dt

        from django.db import connection
        from django.utils import timezone

        from campaigns.materialize import one_off_materialize, recurring_materialize
        from campaigns.models import Campaign
        from channels.models import ChannelAccount

        account = ChannelAccount.objects.create(kind="telegram", name="bench-telegram")
        started = time.perf_counter()
        fill(args.subscribers, account.pk)
        print(
            f"PostgreSQL {connection.pg_version}, {os.cpu_count()} CPUs, Python {sys.version[:6]}"
        )
        print(f"filled {args.subscribers:,} subscribers in {time.perf_counter() - started:.1f} s")
        print(f"peak RSS before materializing: {rss_mb():.1f} MB")
        now = timezone.now()
        content = {"default": {"text": "Hi {name}"}}
        one_off = Campaign.objects.create(
            name="bench", kind="one_off", category="marketing", topic="promotions",
            status="scheduled", send_at=now, content=content,
        )  # fmt: skip
        seconds = timed(
            "one-off, whole audience (target <= 15 s)",
            lambda: one_off_materialize(campaign=one_off, now=now),
        )
        timed(
            "same again: idempotent, inserts nothing",
            lambda: one_off_materialize(campaign=one_off, now=now),
        )
        filtered = Campaign.objects.create(
            name="bench-ru", kind="one_off", category="marketing", topic="promotions",
            status="scheduled", send_at=now, content=content, languages=["ru"],
        )  # fmt: skip
        timed(
            "one-off, languages=[ru] (a third)",
            lambda: one_off_materialize(campaign=filtered, now=now),
        )
        weekly = Campaign.objects.create(
            name="bench-weekly", kind="recurring", category="marketing", topic="menu",
            status="running", weekday=(now.weekday() + 1) % 7, local_time=dt.time(10),
            content=content,
        )  # fmt: skip
        from django.conf import settings

        settings.RECURRING_LOOKAHEAD_HOURS = 24 * 7
        timed(
            "weekly, 3 time zones (one INSERT per zone)",
            lambda: recurring_materialize(campaign=weekly, now=now),
        )
        peak = rss_mb()
        verdict = "OK" if seconds <= 15 and peak <= 250 else "OVER TARGET"
        print(
            f"one-off of {args.subscribers:,}: {seconds:.2f} s, peak RSS {peak:.1f} MB: {verdict}"
        )


if __name__ == "__main__":
    main()
