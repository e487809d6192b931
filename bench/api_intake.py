"""API intake: accepted order events per second and their latency, single posts vs batches,
and platform webhooks, at gunicorn as the Procfile runs it.

    .venv/bin/python bench/api_intake.py [--seconds 10] [--clients 16] [--web-workers 2]
        [--batch 1000] [--database-url URL] [--keep]

Starts gunicorn (`config.wsgi`, --web-workers processes, as the Procfile's `web`) against a
fresh PostgreSQL database (`comeback_bench_intake`) and Redis (REDIS_URL, default
redis://127.0.0.1:6379/14, a queue of its own that no worker reads: "accepted" means stored,
the triggers follow asynchronously). Then, for --seconds each, --clients requests stay in
flight, each answer starting the next (closed loop, libcurl's multi interface in one thread:
bench/load.py):
  single   POST /api/v1/events/, one new event per request, over 20,000 orders;
  batch    POST /api/v1/events/batch/ with --batch new events per request;
  webhook  POST /hooks/<telegram account>/, one Telegram update per request, secret checked;
  drain    then the deferred updates handled by the worker's drains (channels/inbound.py), one
           per stream on threads of this process, until none is left (INBOUND_PROCESSING=request:
           nothing to drain).
Prints accepted per second, p50/p95/p99 of each request, and CPU ms per event for gunicorn,
PostgreSQL and this process (the load generator shares the machine: its CPU is shown).
Targets (issue #14): single >= 1,000 events/s with p99 <= 100 ms; batch >= 10,000 events/s;
webhooks >= 1,000/s.
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.load import Request, Result, closed_loop  # noqa: E402
from bench.trigger_latency import free_port, start, wait_http  # noqa: E402

PYTHON = sys.executable
ORDERS = 20_000
SECRET = "bench-webhook-secret"


def fixtures() -> tuple[str, str]:
    """20,000 orders and a Telegram account; returns an API key and the account's name."""
    from django.utils import timezone

    from channels.models import ChannelAccount
    from subscriptions.models import ApiKey

    account = ChannelAccount.objects.create(
        kind="telegram", name="bench-intake", webhook_secret=SECRET,
        credentials={"token": "123456:BENCH", "username": "bench_bot"},
    )  # fmt: skip
    common.customers_with_orders(
        account, ORDERS, prefix="in", first_user_id=500000, placed_at=timezone.now()
    )
    return ApiKey.issue("bench")[1], account.name


def event(n: int) -> dict:
    return {
        "event_id": f"in-evt-{n}",
        "type": "order.delivered",
        "order_external_id": f"in-order-{n % ORDERS}",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def update(n: int) -> dict:
    """A Telegram update: a customer writes to the bot (https://core.telegram.org/bots/api#update)."""
    user = {"id": 500000 + n % ORDERS, "is_bot": False, "first_name": "Bench"}
    return {
        "update_id": n,
        "message": {"message_id": n, "date": int(time.time()), "chat": {**user, "type": "private"},
                    "from": user, "text": "hello"},
    }  # fmt: skip


def report(name: str, unit: int, seconds: float, result: Result, cpu: dict[str, float]) -> None:
    accepted, latencies, failures = result.accepted, result.latencies, result.failures
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    per = max(accepted, 1)
    print(
        f"{name:<8} {accepted / seconds:>9,.0f}/s accepted  requests {len(latencies):>6}  "
        f"p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms  "
        f"failed {len(failures)}  CPU ms/{'event' if unit else 'update'}: "
        + ", ".join(f"{k} {v * 1000 / per:.2f}" for k, v in cpu.items())
    )
    for failure in failures[:3]:
        print("   ", failure)


def drain(roots: dict[str, int]) -> None:
    """What a worker then does with the updates the webhooks deferred (INBOUND_PROCESSING
    "worker"): one drain per stream (INBOUND_STREAMS), each on a thread of this process as on a
    worker's, until none is left."""
    try:
        from channels.inbound import inbound_events_drain
    except ImportError:
        return  # a tree from before the worker handled updates
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection

    from channels.models import InboundEvent

    if not InboundEvent.objects.filter(deferred=True, processed_at=None).exists():
        return

    def stream(number: int) -> int:
        handled = 0
        try:
            while done := inbound_events_drain(stream=number):
                handled += done
        finally:
            connection.close()
        return handled

    before = common.tree_cpu_seconds(roots)
    started = time.perf_counter()
    streams = settings.INBOUND_STREAMS
    with ThreadPoolExecutor(streams) as pool:
        handled = sum(pool.map(stream, range(streams)))
    seconds = time.perf_counter() - started
    after = common.tree_cpu_seconds(roots)
    cpu = {("worker" if k == "bench (load)" else k): (after[k] - before[k]) * 1000 / max(handled, 1)
           for k in after if k != "web"}  # fmt: skip
    print(
        f"drain    {handled / seconds:>9,.0f}/s handled   {handled} deferred updates in "
        f"{seconds:.1f} s by {streams} drains on threads of one process  CPU ms/update: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000)
    common.database_args(parser)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="comeback-intake-"))
    # This process's tasks (the drain's replies) go where the web's do: a queue nobody reads.
    os.environ["CELERY_QUEUE"] = "comeback-bench-intake"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    with common.bench_database_for("comeback_bench_intake", args) as url:
        common.django_setup(url)
        key, account = fixtures()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            REDIS_URL=os.environ["REDIS_URL"],
            ALLOWED_HOSTS="127.0.0.1",
            DEBUG="0",
            LOG_LEVEL="WARNING",
            API_KEY_RATE="1000000/s",
            PYTHONPATH=str(ROOT),
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = start([PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
                     "--workers", str(args.web_workers)], env, logs / "web.log")  # fmt: skip
        try:
            wait_http(f"{base}/api/v1/events/")  # 401: up (healthz wants a worker)
            print(f"{common.conditions()}; gunicorn x{args.web_workers} (sync); "
                  f"{args.clients} requests in flight (libcurl multi); "
                  f"{args.seconds:.0f} s each")  # fmt: skip
            api = [f"Authorization: Api-Key {key}"]
            hook = [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}"]
            offset = itertools.count(0, 10_000_000)

            def single(n: int) -> Request:
                return f"{base}/api/v1/events/", json.dumps(event(base_n + n)).encode(), api

            def batch(n: int) -> Request:
                first = base_n + n * args.batch
                body = {"events": [event(first + i) for i in range(args.batch)]}
                return f"{base}/api/v1/events/batch/", json.dumps(body).encode(), api

            def webhook(n: int) -> Request:
                return f"{base}/hooks/{account}/", json.dumps(update(base_n + n)).encode(), hook

            def created(status: int, body: bytes) -> int:
                return 1 if status == 201 else 0

            def batch_created(status: int, body: bytes) -> int:
                return json.loads(body)["created"] if status == 200 else 0

            def ok(status: int, body: bytes) -> int:
                return 1 if status == 200 else 0

            roots = {"web": web.pid, "bench (load)": os.getpid()}
            for name, call, counted, unit in (("single", single, created, 1),
                                              ("batch", batch, batch_created, 1),
                                              ("webhook", webhook, ok, 0)):  # fmt: skip
                base_n = next(offset)
                before = common.tree_cpu_seconds(roots)
                result = closed_loop(args.clients, args.seconds, call, counted)
                after = common.tree_cpu_seconds(roots)
                cpu = {k: after[k] - before[k] for k in after}
                report(name, unit, args.seconds, result, cpu)
            drain(roots)
        finally:
            web.terminate()
            web.wait(timeout=15)
            import redis  # the queue nobody reads: what this run left there goes too

            redis.Redis.from_url(os.environ["REDIS_URL"]).delete(os.environ["CELERY_QUEUE"])
    print(f"logs in {logs}")


if __name__ == "__main__":
    main()
