"""Trigger latency: order event posted to the REST API -> message received by the platform.

    .venv/bin/python bench/trigger_latency.py [--rate 100] [--seconds 30] [--web-workers 3]

Starts, as subprocesses against a fresh PostgreSQL database (`comeback_bench_latency`, dropped
at the end) and Redis (REDIS_URL, default redis://127.0.0.1:6379/14, its own queue): the fake
platform server, gunicorn, one Celery worker and beat, as in production (Procfile). It then
posts `order.delivered` events at --rate per second, one per customer, for a zero-delay
triggered campaign on a Telegram account pointed at the fake server, and measures for each
event the time from just before its POST to the fake server's `received_at` of the message.
Target: p95 <= 1 s at 100 events/s.

With --with-campaign N, a marketing one-off of N deliveries is launched first on a Telegram
account of its own (unthrottled on the fake): the worker sends it at full speed while the
events come, so the figures are the triggers' latency while a big campaign runs. It reports
how many of the campaign's messages went out during the measurement. --bulk-lane also runs
the Procfile's `bulk` worker (under nice, DISPATCH_BULK_QUEUE set for every process), which
takes the campaign's backlog off the main worker (campaigns/dispatch/lanes.py).
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.load import Request, open_loop  # noqa: E402

PYTHON = sys.executable
QUEUE = "comeback-bench-latency"


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not up in {timeout}s")


def wait_log(log: Path, text: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_bytes():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{log.name}: no {text!r} in {timeout}s:\n{log.read_text()[-2000:]}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fixtures(count: int, fake_url: str) -> str:
    """A Telegram account on the fake server, `count` customers with an order and a
    subscription each, a zero-delay triggered campaign; returns an API key."""
    from django.utils import timezone

    from channels.models import ChannelAccount
    from subscriptions.models import ApiKey

    # The platform's own rate limit is not what is measured here: give the account headroom.
    account = ChannelAccount.objects.create(
        kind="telegram",
        name="bench-telegram",
        api_base=fake_url,
        rate_limit=1000,
        credentials={"token": "123456:BENCH", "username": "bench_bot"},
    )
    common.customers_with_orders(
        account, count, prefix="lat", first_user_id=100000, placed_at=timezone.now()
    )
    common.delivered_message_campaign("bench: delivered")
    return ApiKey.issue("bench")[1]


def big_campaign(n: int, fake_url: str) -> int:
    """N customers with a chat on a Telegram account of their own (no 24-hour window), and a
    marketing one-off to all of them launched now (written by the launch, as in production)."""
    from django.utils import timezone

    from bench.materialize import fill
    from campaigns.models import Campaign
    from campaigns.services import campaign_launch

    account = common.make_account("telegram", fake_url, rate_limit=1e6)
    started = time.perf_counter()
    fill(n, account.pk)
    campaign = Campaign.objects.create(
        name="bench: big one-off", kind="one_off", category="marketing", topic="promotions",
        status="draft", send_at=timezone.now(), respect_quiet_hours=False,
        content={"default": {"text": "Hi {name}, this week's offer"}},
    )  # fmt: skip
    campaign.accounts.set([account])
    _, written = campaign_launch(campaign_id=campaign.pk)
    took = time.perf_counter() - started
    print(f"big campaign: {written:,} deliveries written and launched in {took:.1f} s")
    return campaign.pk


def campaign_sent(campaign_id: int) -> int:
    from campaigns.models import Delivery

    return Delivery.objects.filter(campaign_id=campaign_id, state="sent").count()


def load(base: str, key: str, count: int, rate: float) -> dict[str, float]:
    """POST one event per customer at `rate`/s (open loop, libcurl's multi interface in one
    thread: bench/load.py); return chat id -> time just before the POST."""

    def request(i: int) -> Request:
        body = {
            "event_id": f"lat-evt-{i}",
            "type": "order.delivered",
            "order_external_id": f"lat-order-{i}",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return (
            f"{base}/api/v1/events/",
            json.dumps(body).encode(),
            [f"Authorization: Api-Key {key}"],
        )

    started = time.monotonic()
    at, failures = open_loop(rate, count, request)
    took = time.monotonic() - started
    print(f"posted {count} events in {took:.1f} s ({count / took:.0f}/s), {len(failures)} failed")
    for failure in failures[:5]:
        print("  ", failure)
    return {str(100000 + i): moment for i, moment in at.items()}


def received(fake_url: str, want: set[str], timeout: float) -> dict[str, float]:
    got: dict[str, float] = {}
    after = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not want <= got.keys():
        listing = requests.get(
            f"{fake_url}/_fake/requests",
            params={"platform": "telegram", "after": after},
            timeout=10,
        )
        for record in listing.json():
            after = max(after, record["seq"])
            if record["kind"] == "sendMessage" and record["answered"] == 200:
                got.setdefault(record["recipient"], record["received_at"])
        time.sleep(0.5)
    return got


def stages(posted: dict[str, float], got: dict[str, float]) -> None:
    """Where the time goes: p50 / p95 of each step, from the rows' own timestamps."""
    from campaigns.models import Delivery

    rows = Delivery.objects.filter(order_event__isnull=False).values_list(
        "subscription__platform_user_id", "order_event__received_at", "order_event__processed_at",
        "sent_at",
    )  # fmt: skip
    steps: dict[str, list[float]] = {
        "posted -> event stored (API)": [],
        "stored -> trigger fired (worker)": [],
        "fired -> committed as sending (dispatcher)": [],
        "sending -> received by platform": [],
    }
    for chat, stored, fired, sending in rows:
        if chat not in got or None in (stored, fired, sending):
            continue
        marks = [
            posted[chat],
            stored.timestamp(),
            fired.timestamp(),
            sending.timestamp(),
            got[chat],
        ]
        for name, (a, b) in zip(steps, itertools.pairwise(marks), strict=True):
            steps[name].append(b - a)
    for name, values in steps.items():
        if len(values) >= 2:
            q = statistics.quantiles(values, n=100)
            print(f"  {name:<44} p50 {q[49]:7.3f} s   p95 {q[94]:7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-pool", default="threads", help="celery --pool")
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--with-campaign", type=int, default=0, metavar="N",
                        help="launch an N-delivery one-off on another account first")  # fmt: skip
    parser.add_argument("--bulk-lane", action="store_true",
                        help="run the bulk lane's worker too (Procfile: bulk)")  # fmt: skip
    parser.add_argument("--bulk-nice", type=int, default=10, help="the bulk worker's nice")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    logs = Path(tempfile.mkdtemp(prefix="comeback-latency-"))
    procs: list[subprocess.Popen] = []
    with common.bench_database("comeback_bench_latency", args.database_url) as url:
        common.django_setup(url)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
            CELERY_QUEUE=QUEUE,
            ALLOWED_HOSTS="127.0.0.1",
            DEBUG="0",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        if args.bulk_lane:
            env["DISPATCH_BULK_QUEUE"] = f"{QUEUE}.bulk"
        try:
            fake_port, web_port = free_port(), free_port()
            fake_url, web = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{web_port}"
            procs.append(start([PYTHON, "-m", "channels.fake_platform", "--port", str(fake_port)],
                               env, logs / "fake.log"))  # fmt: skip
            procs.append(start([PYTHON, "-m", "gunicorn", "config.wsgi", "--bind",
                                f"127.0.0.1:{web_port}", "--workers", str(args.web_workers)],
                               env, logs / "web.log"))  # fmt: skip
            worker = [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool", args.worker_pool,
                      "--concurrency", str(args.worker_concurrency), "--queues", QUEUE,
                      "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
            procs.append(start(worker, env, logs / "worker.log"))
            beat = [PYTHON, "-m", "celery", "-A", "config", "beat", "--schedule",
                    str(logs / "beat-schedule"), "--loglevel", "WARNING"]  # fmt: skip
            procs.append(start(beat, env, logs / "beat.log"))
            if args.bulk_lane:  # the Procfile's `bulk`
                bulk = ["nice", "-n", str(args.bulk_nice), *worker[:worker.index("--queues")],
                        "--queues", f"{QUEUE}.bulk", "--hostname", "bulk@%h",
                        "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
                procs.append(start(bulk, env, logs / "bulk.log"))
                wait_log(logs / "bulk.log", b"ready.")
            wait_http(f"{fake_url}/_fake/health")
            wait_http(f"{web}/healthz")
            wait_log(logs / "worker.log", b"ready.")
            # The big campaign's audience first: its fill gives every customer so far a chat.
            big = big_campaign(args.with_campaign, fake_url) if args.with_campaign else None
            key = fixtures(count, fake_url)
            pool = f"--pool {args.worker_pool} x{args.worker_concurrency}"
            lane = f"; bulk lane worker (nice {args.bulk_nice})" if args.bulk_lane else ""
            print(f"{os.cpu_count()} CPUs; gunicorn x{args.web_workers}; worker {pool}; beat{lane}")
            print(f"logs in {logs}")
            roots = {"web": procs[1].pid, "worker": procs[2].pid, "beat": procs[3].pid,
                     "fake": procs[0].pid, "bench (load)": os.getpid()}  # fmt: skip
            if args.bulk_lane:
                roots["bulk"] = procs[4].pid
            before = common.tree_cpu_seconds(roots)
            big_before = campaign_sent(big) if big else 0
            load_started = time.monotonic()
            posted = load(web, key, count, args.rate)
            if big:
                went = campaign_sent(big) - big_before
                took = time.monotonic() - load_started
                print(
                    f"big campaign meanwhile: {went:,} sent in {took:.0f} s ({went / took:,.0f}/s)"
                )
            got = received(fake_url, set(posted), timeout=60)
            after = common.tree_cpu_seconds(roots)
            stages(posted, got)
            print("CPU ms per event:", ", ".join(
                f"{k} {(after[k] - before[k]) * 1000 / count:.1f}" for k in after))  # fmt: skip
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    latencies = sorted(got[chat] - posted[chat] for chat in posted if chat in got)
    print(f"received {len(latencies)}/{len(posted)} messages")
    if len(latencies) >= 2:
        q = statistics.quantiles(latencies, n=100)
        print(f"latency event posted -> message at platform: p50 {q[49]:.3f} s  p95 {q[94]:.3f} s"
              f"  p99 {q[98]:.3f} s  max {latencies[-1]:.3f} s")  # fmt: skip
        print("target p95 <= 1 s:", "OK" if q[94] <= 1 else "OVER TARGET")


if __name__ == "__main__":
    main()
