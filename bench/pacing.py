"""Pacing under platform limits: four accounts at once against a fake enforcing their limits.

    .venv/bin/python -m bench.pacing [--seconds 60]

Telegram 30/s, Messenger 300/s, WhatsApp 80/s and VK 20/s, each account dispatched by its own
process (as by its own worker) in consecutive runs of DISPATCH_RUN_SECONDS, the way the task
chains them. The fake platform (its own process) refuses anything over "N per any 1-second
window". Prints, per account, the achieved rate as % of the allowed one (target >= 95%), the
number of 429s (target 0) and the most requests seen in any 1-second window.
"""

import argparse
import multiprocessing
import os
import sys
import time
from bisect import bisect_left
from typing import Any

from bench import common

LIMITS = {"telegram": 30, "messenger": 300, "whatsapp": 80, "vk": 20}


def _dispatch(account_id: int, start: float, seconds: float) -> None:
    """Keep one account dispatching from `start` (wall clock) until `seconds` have passed."""
    from campaigns.dispatch import run_account

    time.sleep(max(0.0, start - time.time()))
    end = start + seconds
    while (left := end - time.time()) > 0.05:
        run_account(account_id, run_seconds=min(left, _run_seconds()))


def _run_seconds() -> float:
    from django.conf import settings

    return settings.DISPATCH_RUN_SECONDS


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most timestamps in any half-open `window`-second interval (sorted input)."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect_left(times, t + window, lo=i) - i)
    return best


def report(url: str, accounts: dict[str, Any], start: float, seconds: float) -> bool:
    ok = True
    print(f"{'account':<10} {'allowed':>8} {'achieved':>9} {'%':>6} {'429s':>5} {'max/1s':>7}")
    for kind, account in accounts.items():
        records = common.fake(url, "GET", f"requests?platform={kind}")
        mine = [r for r in records if r["token"] == common.account_token(account)]
        window = [r for r in mine if start <= r["received_at"] < start + seconds]
        accepted = sorted(r["received_at"] for r in window if r["answered"] == 200)
        limited = sum(r["answered"] == 429 for r in mine)
        allowed = LIMITS[kind]
        achieved = len(accepted) / seconds
        share = achieved / allowed * 100
        peak = max_in_window(sorted(r["received_at"] for r in mine))
        ok &= share >= 95 and limited == 0 and peak <= allowed
        print(
            f"{kind:<10} {allowed:>6}/s {achieved:>7.1f}/s {share:>5.1f}% {limited:>5} "
            f"{peak:>4}/{allowed}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--fake-nice", type=int, default=-10, help="priority of the fake platform (0: as ours)"
    )
    args = parser.parse_args(argv)

    given = os.environ.get("BENCH_DATABASE_URL")
    with common.bench_database("comeback_bench", given) as database:
        common.django_setup(database)
        from django.db import connections
        from django.utils import timezone

        with common.fake_platform_process(max_records=200_000, nice=args.fake_nice) as url:
            accounts = {kind: common.make_account(kind, url, None) for kind in LIMITS}
            limits = {common.account_token(a): LIMITS[k] for k, a in accounts.items()}
            common.fake(url, "POST", "config", {"rate_limit": limits})
            for kind, account in accounts.items():
                # 20% more than the window can take, each to its own customer (per-recipient
                # spacing out of the way); everyone wrote recently, so every window is open.
                n = int(LIMITS[kind] * args.seconds * 1.2) + 10
                common.seed(account, n, last_inbound_at=timezone.now())
            print(f"conditions: {common.conditions()}")
            print(
                f"workload: 4 accounts for {args.seconds:.0f} s, one process each, runs of "
                f"{_run_seconds():.0f} s; fake enforces N per any 1 s window\n"
            )
            connections.close_all()  # forked children must not share our connection
            start = time.time() + 3.0  # every child set up before the clock starts
            ctx = multiprocessing.get_context("fork")
            procs = [
                ctx.Process(target=_dispatch, args=(a.pk, start, args.seconds))
                for a in accounts.values()
            ]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
            ok = report(url, accounts, start, args.seconds)
    print("\ntargets met" if ok else "\ntargets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
