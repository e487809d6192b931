"""What the dispatch benchmarks share: a throwaway database, the fake platform as a process,
bulk seeding, and a line describing the conditions.

Each bench creates its own PostgreSQL database next to DATABASE_URL's (or uses
BENCH_DATABASE_URL as given, and leaves it in place) and drops it at the end.
"""

import argparse
import gc
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/comeback"
CREDENTIALS = {
    "telegram": {"token": "{n}:bench-token", "username": "bench_bot"},
    "messenger": {
        "page_id": "{n}", "page_token": "page-{n}", "app_secret": "s", "verify_token": "v",
    },
    "whatsapp": {
        "phone_number_id": "{n}", "token": "wa-{n}", "app_secret": "s", "verify_token": "v",
        "phone": "15550000000",
    },
    "vk": {"group_id": "{n}", "token": "vk-{n}", "secret": "s", "confirmation": "c"},
    "viber": {"auth_token": "viber-{n}", "uri": "bench"},
}  # fmt: skip


@contextmanager
def bench_database(name: str, given: str | None = None) -> Iterator[str]:
    """The URL of a fresh database `name` next to DATABASE_URL's (dropped afterwards unless
    BENCH_KEEP is set), or `given` (BENCH_DATABASE_URL, say) used as it is and kept."""
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
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_args(parser: argparse.ArgumentParser) -> None:
    """The options every bench that builds its own database takes; read by `bench_database_for`."""
    parser.add_argument("--database-url", help="use this database as it is (not dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")


def bench_database_for(name: str, args: argparse.Namespace) -> Any:
    """`bench_database(name, ...)` as the options of `database_args` ask."""
    if args.keep:
        os.environ["BENCH_KEEP"] = "1"
    return bench_database(name, args.database_url)


def django_setup(database_url: str) -> None:
    """Django on `database_url`, migrated."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMzJieXQ=")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    from config import gc_tuning

    django.setup()
    gc_tuning.apply()  # what runs in-process here (dispatch, materialize, drains) runs in workers
    call_command("migrate", verbosity=0)


FAKE_PID: list[int] = []  # the running fake platform process, for cpu_seconds()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by `pid`, or by this process and its children."""
    if pid is None:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree (Linux /proc), plus PostgreSQL."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, used, name = {}, {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parent[pid], name[pid] = int(fields[1]), stat.split("(", 1)[1].rsplit(")", 1)[0]
        # own user + system time and that of waited-for children (gunicorn/prefork respawns)
        used[pid] = sum(int(v) for v in fields[11:15]) / tick
    totals = dict.fromkeys([*roots, "postgres"], 0.0)
    for pid, seconds in used.items():
        if name[pid] == "postgres":
            totals["postgres"] += seconds
            continue
        node = pid
        while node in parent and node > 1:
            for label, root in roots.items():
                if node == root:
                    totals[label] += seconds
                    node = 0
                    break
            else:
                node = parent[node]
    return totals


@contextmanager
def fake_platform_process(max_records: int = 50_000, nice: int = 0) -> Iterator[str]:
    """`python -m channels.fake_platform` on a free loopback port; yields its URL.

    `nice` < 0 raises its priority (needs the privilege): a real platform's clock does not
    stall when our host is busy, so the fake's arrival timestamps should not either.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "channels.fake_platform", "--port", "0",
         "--max-records", str(max_records)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, proc.pid, nice)
        except PermissionError:
            print(f"(could not renice the fake platform to {nice}: not privileged)")
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://\S+", line)
        if not match:
            raise RuntimeError(f"fake platform did not start: {line!r}")
        FAKE_PID[:] = [proc.pid]
        yield match.group(0)
    finally:
        FAKE_PID.clear()
        proc.terminate()
        proc.wait(timeout=10)


def fake(url: str, method: str, path: str, body: Any = None) -> Any:
    import requests

    response = requests.request(method, f"{url}/_fake/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def make_account(kind: str, api_base: str, rate_limit: float | None) -> Any:
    """A fresh account of `kind` (its own token, so the fake's limits apply to it alone)."""
    from channels.models import ChannelAccount

    n = ChannelAccount.objects.count() + 1000
    credentials = {k: v.format(n=n) for k, v in CREDENTIALS[kind].items()}
    return ChannelAccount.objects.create(
        kind=kind, name=f"bench-{kind}-{n}", credentials=credentials, api_base=api_base,
        rate_limit=rate_limit,
    )  # fmt: skip


def account_token(account: Any) -> str:
    """The token the fake platform keys its rate limit by."""
    c = account.credentials
    return c.get("token") or c.get("page_token") or c.get("auth_token") or ""


def seed(
    account: Any,
    n: int,
    *,
    text: str = "Hi {name}, d:{delivery}",
    last_inbound_at: Any = None,
    second_chat_on: Any = None,
) -> Any:
    """`n` due marketing deliveries on `account` to `n` customers, inserted in bulk; with
    `second_chat_on`, each customer also has an (idle) chat on that account."""
    from django.utils import timezone

    from campaigns.models import Campaign, Delivery
    from subscriptions.models import Customer, Subscription

    campaign = Campaign.objects.create(
        name=f"bench {account.name}", kind="one_off", category="marketing", topic="menu",
        status="running", respect_quiet_hours=False,
        content={"default": {"text": text, "quick_replies": [{"text": "5", "payload": "s:5"}]}},
    )  # fmt: skip
    now = timezone.now()
    prefix = account.name
    customers = Customer.objects.bulk_create(
        [Customer(external_id=f"{prefix}-{i}", name=f"Customer {i}") for i in range(n)],
        batch_size=5000,
    )
    subscriptions = Subscription.objects.bulk_create(
        [
            Subscription(
                customer=c,
                account=account,
                platform_user_id=str(10_000_000 + i),
                last_inbound_at=last_inbound_at,
            )
            for i, c in enumerate(customers)
        ],
        batch_size=5000,
    )
    if second_chat_on is not None:
        Subscription.objects.bulk_create(
            [
                Subscription(customer=c, account=second_chat_on, platform_user_id=f"2-{c.pk}")
                for c in customers
            ],
            batch_size=5000,
        )
    Delivery.objects.bulk_create(
        [
            Delivery(campaign=campaign, occurrence="once", subscription=s, account=account,
                     priority=2, due_at=now)
            for s in subscriptions
        ],
        batch_size=5000,
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        # The deliveries as the materialization tick leaves them (it analyzes after a big
        # write); customers and chats as autovacuum keeps them in production, where they come
        # one by one. Bulk-seeded and not analyzed, the cap's query scanned them all.
        tables = (Delivery, Customer, Subscription)
        cursor.execute("ANALYZE " + ", ".join(m._meta.db_table for m in tables))
    return campaign


def customers_with_orders(
    account: Any, count: int, *, prefix: str, first_user_id: int, placed_at: Any
) -> None:
    """`count` customers, each with a paid order (`<prefix>-order-<i>`) and a chat on `account`
    linked to it: what an order event's trigger needs."""
    from decimal import Decimal

    from subscriptions.models import Customer, Order, Subscription

    customers = Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}-{i}", name=f"Customer {i}") for i in range(count)
    )
    orders = Order.objects.bulk_create(
        Order(external_id=f"{prefix}-order-{i}", customer=c, total=Decimal("20"),
              currency="EUR", status="paid", placed_at=placed_at)
        for i, c in enumerate(customers)
    )  # fmt: skip
    Subscription.objects.bulk_create(
        Subscription(customer=c, account=account, platform_user_id=str(first_user_id + i), order=o)
        for i, (c, o) in enumerate(zip(customers, orders, strict=True))
    )


def delivered_message_campaign(name: str) -> Any:
    """A triggered service message on `order.delivered`, sent at once."""
    from campaigns.models import Campaign

    return Campaign.objects.create(
        name=name, kind="triggered", category="service", status="running",
        trigger_event="order.delivered", respect_quiet_hours=False,
        content={"default": {"text": "Your order {order} is here"}},
    )  # fmt: skip


def conditions() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()} (gc threshold {gc.get_threshold()[0]}), "
        f"PostgreSQL {pg} on loopback, fake platform as a separate process on loopback"
    )
