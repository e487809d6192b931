"""Soak: the embedded default (`make run` with nothing configured) under a steady load for hours.

    .venv/bin/python bench/soak.py [--minutes 120] [--rate 2] [--customers 2000]

Runs `bin/supervise web worker beat` (what `make run` runs) on SQLite and the embedded broker in
a fresh VAR_DIR, with every platform pointed at the fake platform server (a separate process on
loopback). It posts `order.delivered` events at --rate per second (a zero-delay triggered
message each) and has a weekly campaign to every customer fall due 5 minutes in. Every minute it
samples each process's resident memory. At the end it waits for the deliveries to settle, stops
the processes as Ctrl-C does and prints: processes that died (and were restarted), memory per
process at start and end, /healthz failures, and every delivery not in a final state.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.trigger_latency import free_port, wait_http  # noqa: E402

PROCESSES = {
    "web": "gunicorn",
    "worker": "celery -A config worker",
    "beat": "celery -A config beat",
}


def embedded_env(var_dir: Path, port: int, fake_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(var_dir), DEBUG="1", PORT=str(port), LOG_LEVEL="WARNING",
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
        TELEGRAM_API_BASE=fake_url, GRAPH_API_BASE=fake_url, VIBER_API_BASE=fake_url,
        VK_API_BASE=fake_url,
    )  # fmt: skip
    return env


def seed(customers: int, fake_url: str) -> str:
    """A Telegram account on the fake, customers with an order and a chat each, a triggered
    message on delivery and a weekly menu due in 5 minutes; returns an API key."""
    from django.utils import timezone

    from campaigns.models import Campaign
    from channels.models import ChannelAccount
    from subscriptions.models import ApiKey

    account = ChannelAccount.objects.create(
        kind="telegram", name="soak-telegram", api_base=fake_url,
        credentials={"token": "123456:SOAK", "username": "soak_bot"},
    )  # fmt: skip
    now = timezone.now()
    common.customers_with_orders(
        account, customers, prefix="soak", first_user_id=500000,
        placed_at=now - timedelta(days=10),
    )  # fmt: skip
    common.delivered_message_campaign("soak: delivered")
    due = now + timedelta(minutes=5)
    Campaign.objects.create(
        name="soak: weekly menu", kind="recurring", category="marketing", topic="menu",
        status="running", weekday=due.weekday(), local_time=due.time().replace(microsecond=0),
        respect_quiet_hours=False, trigger_conditions={"skip_already_ordered": False},
        content={"default": {"text": "This week's menu, {name}"}},
    )  # fmt: skip
    return ApiKey.issue("soak")[1]


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match[1]) / 1024 if match else 0.0


def processes(session: int) -> dict[str, list[int]]:
    """Each Procfile process's pids (a parent and its children) in the manager's session."""
    found = {}
    for name, pattern in PROCESSES.items():
        out = subprocess.run(["pgrep", "-s", str(session), "-f", pattern],
                             capture_output=True, text=True).stdout  # fmt: skip
        found[name] = sorted(int(p) for p in out.split())
    return found


def post_events(
    base: str, key: str, customers: int, seconds: float, rate: float, first: int
) -> tuple[Counter, int]:
    """Post events numbered from `first` for `seconds`; the answers and the next number."""
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    answers: Counter = Counter()
    start, n = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        number = first + n
        event = {
            "event_id": f"soak-ev-{number}", "type": "order.delivered",
            "order_external_id": f"soak-order-{number % customers}",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }  # fmt: skip
        try:
            answers[session.post(f"{base}/api/v1/events/", json=event, timeout=10).status_code] += 1
        except requests.RequestException as error:
            answers[type(error).__name__] += 1
        n += 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
    return answers, first + n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--rate", type=float, default=2.0, help="order events per second")
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="comeback-soak-"))
    port = free_port()
    with common.fake_platform_process(max_records=20_000) as fake_url:
        env = embedded_env(var_dir, port, fake_url)
        os.environ.update(env)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                       env=env, check=True)  # fmt: skip
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        key = seed(args.customers, fake_url)
        from django.db import connections

        connections.close_all()
        log = (var_dir / "processes.log").open("wb")
        manager = subprocess.Popen([sys.executable, "bin/supervise", "web", "worker", "beat"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/admin/login/")
        print(f"soak: {args.minutes:g} min at {args.rate:g} events/s, var {var_dir}")
        print(f"conditions: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, embedded default")
        first = {
            name: sum(rss_mb(p) for p in pids) for name, pids in processes(manager.pid).items()
        }
        answers: Counter = Counter()
        unhealthy = posted = 0
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end:
            seconds = min(60, end - time.monotonic())
            got, posted = post_events(base, key, args.customers, seconds, args.rate, posted)
            answers += got
            health = requests.get(f"{base}/healthz", timeout=10)
            unhealthy += health.status_code != 200
            rss = {n: sum(rss_mb(p) for p in pids) for n, pids in processes(manager.pid).items()}
            line = ", ".join(f"{n} {mb:.0f} MB" for n, mb in rss.items())
            print(f"{time.strftime('%H:%M:%S')} healthz {health.status_code}; {line}", flush=True)
        last = {name: sum(rss_mb(p) for p in pids) for name, pids in processes(manager.pid).items()}
        settled = settle(timeout=180)
        manager.send_signal(signal.SIGINT)
        manager.wait(timeout=120)
        report(var_dir, answers, unhealthy, first, last, settled, fake_url)


def settle(timeout: float) -> Counter:
    """Deliveries by state once none is left in flight (or the timeout passed)."""
    from django.db.models import Count
    from django.utils import timezone

    from campaigns.models import Delivery

    deadline = time.monotonic() + timeout
    while True:
        states = Counter(dict(Delivery.objects.values_list("state").annotate(n=Count("id"))))
        open_ = [s for s in states if s not in Delivery.FINAL_STATES]
        due_later = Delivery.objects.filter(due_at__gt=timezone.now()).count()
        if not open_ or time.monotonic() > deadline:
            states["(due later)"] = due_later
            return states
        time.sleep(2)


def report(
    var_dir: Path, answers: Counter, unhealthy: int, first: dict[str, float],
    last: dict[str, float], states: Counter, fake_url: str,
) -> None:  # fmt: skip
    from campaigns.models import Delivery

    log = (var_dir / "supervisord.log").read_text()
    died = re.findall(r"exited: (\w+) \((.+?)\)", log)
    unexpected = [f"{name} ({why})" for name, why in died if "not expected" in why]
    print(f"\nevents posted: {dict(answers)}")
    print(f"healthz not 200: {unhealthy} of the minute checks")
    print(f"processes died and restarted: {len(unexpected)} {unexpected or ''}")
    for name in PROCESSES:
        growth = last[name] - first[name]
        print(f"  {name}: RSS {first[name]:.0f} MB -> {last[name]:.0f} MB ({growth:+.0f} MB)")
    print(f"deliveries by state: {dict(states)}")
    final = set(Delivery.FINAL_STATES)
    left = {s: n for s, n in states.items() if s not in final and not s.startswith("(")}
    print(f"deliveries not final: {sum(left.values())} {left or ''}")
    got = common.fake(fake_url, "GET", "stats")
    print(f"fake platform received: {got}")


if __name__ == "__main__":
    main()
