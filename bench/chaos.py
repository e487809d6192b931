"""Chaos drill: deliveries over several accounts while workers are killed, Redis restarts and
PostgreSQL drops connections; then the fake platform's log is checked against the ledger.

    .venv/bin/python bench/chaos.py [--deliveries 20000] [--accounts 3] [--rate 80]

Everything runs on loopback, as separate processes: a fresh PostgreSQL database
(`comeback_bench_chaos`, dropped at the end), a Redis server of the drill's own on a free port
(so restarting it disturbs nothing else), the fake platform server (dropping --drop of the
connections after handling the call, before answering), two Celery workers (the Procfile's
threads pool) and beat. N due marketing deliveries are split over --accounts accounts
(Telegram, Messenger, VK, ...) paced at --rate each. While rows remain, the drill:

- SIGKILLs a worker holding a lease every --kill-every seconds and starts a new one at once
  (what supervisord does);
- restarts Redis twice: once keeping its data (SHUTDOWN SAVE), once flushed;
- terminates every PostgreSQL connection of the app once.

Then it waits for every row to be final and prints: duplicates (a delivery the platform got
twice), lost (a `sent` row the platform never got, or a row never final), stuck, `unknown`
rows and how many of them never reached the platform, and for each fault the longest pause in
sending on any account around it.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote_plus

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

QUEUE = "comeback-bench-chaos"
KINDS = ("telegram", "messenger", "vk", "viber", "whatsapp")
DELIVERY = re.compile(rb"d:(\d+)")


class Redis:
    """A redis-server of the drill's own, restartable on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def restart(self, *, keep: bool) -> None:
        import redis

        client = redis.Redis(port=self.port)
        if not keep:
            client.flushall()
        try:
            client.shutdown(save=keep, nosave=not keep)
        except redis.ConnectionError:
            pass  # it closes the connection as it goes
        assert self.proc is not None
        self.proc.wait(timeout=10)
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


class Processes:
    """The app's worker and beat processes; workers are replaced when killed."""

    def __init__(self, env: dict[str, str], logs: Path, workers: int) -> None:
        self.env, self.logs = env, logs
        self.workers: list[subprocess.Popen] = []
        self.started = 0
        for _ in range(workers):
            self.workers.append(self._worker())
        self.beat = self._start(["beat", "--schedule", str(logs / "schedule")], "beat")

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        out = (self.logs / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "WARNING"]
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out)

    def _worker(self) -> subprocess.Popen:
        self.started += 1
        args = ["worker", "--pool", "threads", "--concurrency", "8", "--queues", QUEUE]
        return self._start(args, f"worker-{self.started}")

    def kill_a_lease_holder(self) -> int | None:
        """SIGKILL a worker that holds a dispatch lease (any, if none does); start another."""
        from campaigns.models import DispatchLease

        owners = DispatchLease.objects.exclude(owner="").values_list("owner", flat=True)
        holding = {int(owner.split(":")[1]) for owner in owners if owner.count(":") >= 2}
        victim = next((w for w in self.workers if w.pid in holding), self.workers[0])
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.workers[self.workers.index(victim)] = self._worker()
        return victim.pid

    def stop(self) -> None:
        for proc in [*self.workers, self.beat]:
            proc.terminate()
        for proc in [*self.workers, self.beat]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def seed(n: int, accounts: int, fake_url: str, rate: float) -> list:
    from django.utils import timezone

    made = []
    for i in range(accounts):
        account = common.make_account(KINDS[i % len(KINDS)], fake_url, rate)
        # Customers who wrote lately: inside every platform's messaging window.
        size = n // accounts + (i < n % accounts)
        common.seed(account, size, text="d:{delivery}", last_inbound_at=timezone.now())
        made.append(account)
    return made


def terminate_connections(database: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return cursor.fetchone()[0]


def open_rows() -> int:
    from campaigns.models import Delivery

    return Delivery.objects.exclude(state__in=Delivery.FINAL_STATES).count()


def fake_log(fake_url: str) -> list[dict]:
    """Every call the fake platform handled, paged."""
    calls, after = [], 0
    while page := requests.get(f"{fake_url}/_fake/requests", params={"after": after},
                               timeout=60).json():  # fmt: skip
        calls += page
        after = page[-1]["seq"]
    return calls


def busy_tokens(backlog: int = 100) -> set[str]:
    """Tokens of the accounts with a backlog to send now (at least `backlog` rows due or held):
    a pause in their sending is the fault's, not the tail of a run waiting out a backoff."""
    from django.db.models import Count
    from django.utils import timezone

    from campaigns.dispatch.claim import LEFT_STATES, due
    from campaigns.models import Delivery
    from channels.models import ChannelAccount

    rows = due(timezone.now()) | Delivery.objects.filter(state__in=LEFT_STATES)
    counts = rows.values("account_id").annotate(n=Count("id")).filter(n__gte=backlog)
    ids = [c["account_id"] for c in counts]
    return {common.account_token(a) for a in ChannelAccount.objects.filter(pk__in=ids)}


def pauses(calls: list[dict], faults: list[tuple[float, str, set[str]]]) -> list:
    """For each fault, the longest gap between two sends of one account that spans it, among
    the accounts that had rows to send then."""
    by_token: dict[str, list[float]] = {}
    for call in calls:
        if call["recipient"]:  # a send (a webhook registration has none)
            by_token.setdefault(call["token"], []).append(call["received_at"])
    found = []
    for at, what, busy in faults:
        worst, where = 0.0, "-"
        for token, times in by_token.items():
            if token not in busy:
                continue
            before = [t for t in times if t <= at]
            after = [t for t in times if t > at]
            if before and after and after[0] - before[-1] > worst:
                worst, where = after[0] - before[-1], token
        found.append((what, worst, where))
    return found


def check(calls: list[dict]) -> dict[str, int]:
    """The fake's log against the ledger."""
    from campaigns.models import Delivery

    got: Counter[int] = Counter()
    arrived: dict[int, tuple[str, float]] = {}
    for call in calls:
        # A VK resend with the same random_id is deduplicated: no second message.
        if call["deduplicated"] or not (call["answered"] == 200 or call["dropped"]):
            continue
        match = DELIVERY.search(unquote_plus(call["body"]).encode())  # VK posts a form
        if match:
            got[int(match[1])] += 1
            arrived.setdefault(int(match[1]), (call["platform"], call["received_at"]))
    wire_delays(arrived)
    rows = dict(Delivery.objects.values_list("id", "state"))
    unknown = [pk for pk, state in rows.items() if state == "unknown"]
    never = Delivery.objects.filter(pk__in=[pk for pk in unknown if pk not in got])
    by_recipient = Counter(call["recipient"] for call in calls)
    for pk, reason, kind, attempts, uid in never.values_list(
        "pk", "reason", "account__kind", "attempts", "subscription__platform_user_id"
    )[:10]:
        print(f"  unknown, never at the platform: {pk} ({kind}, attempt {attempts}, "
              f"{by_recipient[uid]} calls to {uid}): {reason}")  # fmt: skip
    return {
        "deliveries": len(rows),
        "sent": sum(state == "sent" for state in rows.values()),
        "duplicates": sum(n > 1 for n in got.values()),
        "lost (sent, never at the platform)": sum(
            1 for pk, state in rows.items() if state == "sent" and pk not in got
        ),
        "stuck (not final)": sum(state not in Delivery.FINAL_STATES for state in rows.values()),
        "unknown": len(unknown),
        "unknown that never reached the platform": sum(pk not in got for pk in unknown),
        "failed or skipped": sum(state in ("failed", "skipped") for state in rows.values()),
        "dropped connections": sum(call["dropped"] for call in calls),
    }


def wire_delays(arrived: dict[int, tuple[str, float]]) -> None:
    """From a request's start in its sending thread (the row's `sent_at`) to its arrival at
    the platform, per platform: part of the window in which a kill leaves an `unknown` that
    never reached it (the rest, from the commit to the start, is not recorded)."""
    from campaigns.models import Delivery

    delays: dict[str, list[float]] = {}
    for pk, sent_at in Delivery.objects.filter(state="sent").values_list("pk", "sent_at"):
        if pk in arrived:
            platform, at = arrived[pk]
            delays.setdefault(platform, []).append(at - sent_at.timestamp())
    for platform, values in sorted(delays.items()):
        values.sort()
        pick = [values[int(q * (len(values) - 1))] * 1000 for q in (0.5, 0.99)]
        print(f"  send start to platform, {platform}: p50 {pick[0]:.2f} ms, p99 {pick[1]:.2f} ms, "
              f"max {values[-1] * 1000:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--rate", type=float, default=80, help="each account's rate limit")
    parser.add_argument("--kill-every", type=float, default=15.0)
    parser.add_argument("--drop", type=float, default=0.02, help="share of calls cut unanswered")
    parser.add_argument("--settle", type=float, default=300, help="seconds to wait at the end")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="comeback-chaos-"))
    redis_server = Redis(folder)
    redis_server.start()
    processes = None
    try:
        with (
            common.bench_database("comeback_bench_chaos") as url,
            common.fake_platform_process(max_records=2 * args.deliveries + 10_000) as fake_url,
        ):
            common.django_setup(url)
            accounts = seed(args.deliveries, args.accounts, fake_url, args.rate)
            common.fake(fake_url, "POST", "config", {"drop": {"fraction": args.drop, "seed": 1}})
            env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_server.url,
                       CELERY_QUEUE=QUEUE, LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))  # fmt: skip
            print(f"chaos: {args.deliveries} deliveries over {len(accounts)} accounts "
                  f"({', '.join(a.kind for a in accounts)}) at {args.rate:g}/s each; "
                  f"kill every {args.kill_every:g}s, drop {args.drop:.0%}")  # fmt: skip
            print(f"conditions: {common.conditions()}")
            start = time.monotonic()
            processes = Processes(env, folder, workers=2)
            faults = drill(args, processes, redis_server, url)
            settle_until = time.monotonic() + args.settle
            while open_rows() and time.monotonic() < settle_until:
                time.sleep(1)
            took = time.monotonic() - start
            processes.stop()
            processes = None
            calls = fake_log(fake_url)
            report(check(calls), pauses(calls, faults), took, args.deliveries)
    finally:
        if processes is not None:
            processes.stop()
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def drill(args: argparse.Namespace, processes: Processes, redis_server: Redis, url: str) -> list:
    """Inject the faults on schedule while rows remain; returns (wall time, fault) pairs."""
    from django.db import connection

    database = url.rsplit("/", 1)[1]
    t0 = time.monotonic()
    plan = [(args.kill_every * 1.5, "redis restart"), (args.kill_every * 2.5, "postgres drop"),
            (args.kill_every * 3.5, "redis restart, flushed")]  # fmt: skip
    next_kill, faults = t0 + args.kill_every, []
    while open_rows():
        now = time.monotonic()
        if plan and now - t0 >= plan[0][0]:
            _, what = plan.pop(0)
            busy = busy_tokens()
            if what == "postgres drop":
                n = terminate_connections(database)
                connection.close()
                what += f" ({n} connections)"
            else:
                redis_server.restart(keep="flushed" not in what)
            # Measured from just after the fault: the gap that spans this moment is the pause.
            faults.append((time.time(), what, busy))
            print(f"{now - t0:6.1f}s {what}", flush=True)
        if now >= next_kill:
            busy = busy_tokens()
            pid = processes.kill_a_lease_holder()
            faults.append((time.time(), "worker killed", busy))
            print(f"{now - t0:6.1f}s worker {pid} killed; {open_rows()} rows open", flush=True)
            next_kill = now + args.kill_every
        time.sleep(0.2)
    return faults


def report(figures: dict[str, int], found: list, took: float, n: int) -> None:
    print(f"\nall final after {took:.1f}s ({n / took:.0f} deliveries/s overall)")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    print("longest pause in sending around each fault (any account):")
    for what, seconds, where in found:
        print(f"  {what}: {seconds:.2f}s ({where})")


if __name__ == "__main__":
    main()
