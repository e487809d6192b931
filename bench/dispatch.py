"""Dispatch throughput end to end: claim -> policies -> render -> HTTP -> outcome committed.

    .venv/bin/python -m bench.dispatch [--deliveries 20000] [--threads 64] [--batch 500]
                                       [--kind telegram] [--accounts 1] [--compare]
                                       [--pgbouncer] [--client "pycurl loop"]

N due deliveries against the unthrottled fake platform server (its own process, loopback) on
PostgreSQL. --accounts K splits them over K accounts, each dispatched by its own process (how
production scales out: one lease per account). --compare runs the knob variants side by side,
and the HTTP clients of bench/http_clients.py under the same dispatcher (--client picks one for
the other variants; the service's own is "pycurl loop", and "pycurl" is the same client on a
thread per send).
--pgbouncer runs each variant twice: direct, then with the dispatchers' connections through
PgBouncer in transaction pooling mode on 127.0.0.1:6432 (bin/ensure-pgbouncer starts it).
Target: >= 2,500 deliveries/s.
"""

import argparse
import multiprocessing
import os
import resource
import sys
import time
from typing import Any

from bench import common


def _use_client(name: str) -> None:
    """Make the dispatcher's sender (here and in forked children) use client `name`."""
    from django.conf import settings

    from bench.http_clients import LOOP, clients
    from campaigns.dispatch import sender

    # The service's default, one thread on libcurl's multi handle; every other client is
    # driven by a thread per concurrent send, as the sender does with DISPATCH_CURL_LOOP off.
    settings.DISPATCH_CURL_LOOP = name == LOOP
    sender.PlatformSession = clients()[name]


def _dispatch(account_id: int, threads: int, batch: int) -> dict[str, int]:
    """Run one account's dispatcher until nothing is due (in this or a child process)."""
    from django.conf import settings

    from campaigns.dispatch.dispatcher import Dispatcher
    from channels.models import ChannelAccount

    settings.DISPATCH_BATCH_SIZE = batch
    # A run lingers this long for new work once nothing is due: idle time after the last
    # delivery, not part of sending them.
    settings.DISPATCH_IDLE_SECONDS = 0
    account = ChannelAccount.objects.get(pk=account_id)
    totals: dict[str, int] = {}
    while True:
        stats = Dispatcher(account, run_seconds=600, threads=threads).run()
        for state, n in stats.states.items():
            totals[state] = totals.get(state, 0) + n
        if stats.stopped != "lease held" and stats.stopped != "time up":
            return totals


def _child(args: tuple[int, int, int]) -> dict[str, int]:
    return _dispatch(*args)


def _pg_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the server is local)."""
    return common.tree_cpu_seconds({})["postgres"]


def run_variant(
    url: str,
    label: str,
    n: int,
    kind: str,
    accounts: int,
    threads: int,
    batch: int,
    two_chats: bool = False,
    client: str = "pycurl loop",
) -> float:
    from django.db import connections

    from campaigns.models import Delivery

    _use_client(client)
    made = [common.make_account(kind, url, rate_limit=1e6) for _ in range(accounts)]
    # Customers with a second chat elsewhere: every marketing row goes through the cap fence
    # (campaigns/dispatch/cap_fence.py), which customers with one chat skip.
    other = common.make_account("vk", url, rate_limit=1e6) if two_chats else None
    for account in made:
        common.seed(account, n // accounts, second_chat_on=other)
    total = (n // accounts) * accounts
    fake_before = common.fake(url, "GET", "stats")["total"]
    cpu_before = (common.cpu_seconds(), common.cpu_seconds(common.FAKE_PID[0]), _pg_cpu())
    started = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    split = ""
    if accounts == 1:
        _dispatch(made[0].pk, threads, batch)
        # The dispatcher runs in this process: how its CPU splits between Python and the kernel
        # (thread hand-overs, sockets), and how often its threads wait on each other.
        after, per = resource.getrusage(resource.RUSAGE_SELF), total / 1e6
        split = (
            f" (user {(after.ru_utime - usage.ru_utime) / per:.0f}, "
            f"system {(after.ru_stime - usage.ru_stime) / per:.0f}; "
            f"{(after.ru_nvcsw + after.ru_nivcsw - usage.ru_nvcsw - usage.ru_nivcsw) / total:.1f}"
            " context switches)"
        )
    else:
        connections.close_all()  # forked children must not inherit (and close) our connection
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(accounts) as pool:
            pool.map(_child, [(a.pk, threads, batch) for a in made])
    elapsed = time.perf_counter() - started
    ours = common.cpu_seconds() - cpu_before[0]
    fakes = common.cpu_seconds(common.FAKE_PID[0]) - cpu_before[1]
    pg = _pg_cpu() - cpu_before[2]
    sent = Delivery.objects.filter(account__in=made, state="sent").count()
    requests = common.fake(url, "GET", "stats")["total"] - fake_before
    rate = sent / elapsed
    print(
        f"{label:<34} {sent:>6}/{total} sent in {elapsed:6.2f} s = {rate:6.0f}/s | CPU per "
        f"delivery: dispatcher {ours / sent * 1e6:4.0f} us{split}, "
        f"fake {fakes / sent * 1e6:4.0f} us, PostgreSQL {pg / sent * 1e6:4.0f} us | "
        f"{requests} requests",
        flush=True,
    )
    return rate


def _through_pgbouncer(on: bool) -> None:
    """Point every connection (this process and forked dispatchers) at PgBouncer, or back."""
    from django.db import connections

    connections.close_all()
    database = connections["default"].settings_dict  # the dict every new connection reads
    if on:
        database.setdefault("DIRECT_PORT", database["PORT"])
        database["PORT"] = "6432"
        # What DATABASE_POOLING=transaction switches (config/settings.py).
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
        database.setdefault("OPTIONS", {})["prepare_threshold"] = None
    elif "DIRECT_PORT" in database:
        database["PORT"] = database["DIRECT_PORT"]
        database["DISABLE_SERVER_SIDE_CURSORS"] = False
        database["OPTIONS"].pop("prepare_threshold", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=64, help="DISPATCH_MAX_THREADS' default")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--kind", default="telegram", choices=sorted(common.CREDENTIALS))
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="run the knob variants too")
    parser.add_argument("--pgbouncer", action="store_true", help="each variant via PgBouncer too")
    parser.add_argument("--client", default="pycurl loop", help="bench/http_clients.py's")
    args = parser.parse_args(argv)

    given = os.environ.get("BENCH_DATABASE_URL")
    with common.bench_database("comeback_bench", given) as database:
        common.django_setup(database)
        with common.fake_platform_process() as url:
            print(f"conditions: {common.conditions()}")
            print(f"workload: {args.deliveries} {args.kind} deliveries, unthrottled fake\n")
            from bench.http_clients import clients

            available = clients()
            if available.get(args.client) is None:
                parser.error(f"--client {args.client}: not available here ({sorted(available)})")
            # Untimed: the first run in a fresh database pays for its caches and autovacuum.
            print("warm-up (not compared): ", end="")
            run_variant(url, "warm-up", 2000, args.kind, 1, args.threads, args.batch)
            variants: list[tuple[str, dict[str, Any]]] = [
                (f"{args.accounts} account(s), {args.threads} sends, {args.client}", {}),
            ]
            if args.compare:
                # Each client twice, the second round in reverse order: a variant's place in
                # the run (caches, the rows earlier variants left) counts on this box.
                names = [n for n, client in available.items() if client is not None]
                for name in [*names, *reversed(names)]:
                    variants.append((f"1 account, 64 sends, {name}",
                                     {"accounts": 1, "threads": 64, "client": name}))  # fmt: skip
                for name in sorted(n for n, client in available.items() if client is None):
                    print(f"client {name}: not available here, skipped")
                variants += [
                    ("1 account, 32 sends", {"accounts": 1, "threads": 32}),
                    ("1 account, 128 sends", {"accounts": 1, "threads": 128}),
                    ("1 account, batch 100", {"accounts": 1, "batch": 100}),
                    ("1 account, customers with 2 chats", {"accounts": 1, "two_chats": True}),
                    ("2 accounts (2 processes)", {"accounts": 2, "threads": 32}),
                    ("4 accounts (4 processes)", {"accounts": 4, "threads": 16}),
                ]
            for label, knobs in variants:
                options = {
                    "accounts": args.accounts, "threads": args.threads, "batch": args.batch,
                    "client": args.client, **knobs,
                }  # fmt: skip
                if not args.pgbouncer:
                    run_variant(url, label, args.deliveries, args.kind, **options)
                    continue
                for routed in (False, True):
                    _through_pgbouncer(routed)
                    suffix = ", via PgBouncer" if routed else ", direct"
                    run_variant(url, label + suffix, args.deliveries, args.kind, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
