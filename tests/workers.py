"""A real Celery worker process, started against the test database and the real broker."""

import base64
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection

T = TypeVar("T")
_starts = itertools.count(1)
ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this test process is using (the test database, not the real)."""
    db = connection.settings_dict
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@contextmanager
def celery_worker(
    *, concurrency: int = 2, queue: str = "", name: str = "worker", **env: str
) -> Iterator[subprocess.Popen]:
    """Run `celery worker` (on this test process's queue, or `queue`) until the block ends; wait
    until it consumes before yielding. `name` tells two workers' logs apart."""
    args = [
        "worker", "--pool", "threads", "--concurrency", str(concurrency),
        "--queues", queue or settings.CELERY_TASK_DEFAULT_QUEUE, "--hostname", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with _celery(args, ready=b"ready.", log_name=name, **env) as proc:
        yield proc


@contextmanager
def celery_beat(**env: str) -> Iterator[subprocess.Popen]:
    """Run `celery beat` with the real schedule (config/celery.py) until the block ends."""
    with tempfile.TemporaryDirectory() as state:
        args = ["beat", "--schedule", str(Path(state) / "schedule")]
        with _celery(args, ready=b"beat: Starting", **env) as proc:
            yield proc


@contextmanager
def _celery(
    args: list[str], *, ready: bytes, log_name: str = "", **env: str
) -> Iterator[subprocess.Popen]:
    # One log per start: a flaky test's worker log survives the next test's worker.
    log = ROOT / "var" / f"test-{log_name or args[0]}-{os.getpid()}-{next(_starts)}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "INFO"],
            cwd=ROOT, env=worker_env(**env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        failed = True
        try:
            _wait_ready(proc, log, ready)
            yield proc
            failed = False
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if failed:  # CI keeps no var/: the failed test's output carries what the worker did
                _print_log(log)


def _print_log(log: Path) -> None:
    """The log's end, without the line per task received (the task's end is there too)."""
    lines = log.read_text(errors="replace").splitlines()
    kept = "\n".join(line for line in lines if "celery.worker.strategy" not in line)
    sys.stdout.write(f"--- {log.name}, the last 20,000 characters ---\n{kept[-20_000:]}\n")


def _wait_ready(proc: subprocess.Popen, log: Path, ready: bytes, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery exited: {log.read_text()[-2000:]}")
        if ready in log.read_bytes():
            return
        time.sleep(0.1)
    raise RuntimeError(f"celery not ready in {timeout}s: {log.read_text()[-2000:]}")


def wait_for(predicate: Callable[[], T], timeout: float = 20, interval: float = 0.1) -> T:
    """Poll until `predicate()` is truthy and return its value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def queued() -> int:
    """Messages waiting in this test process's Celery queue (the Redis list of that name)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
    finally:
        client.close()


def queued_tasks(*, take: bool = False) -> list[tuple[str, list]]:
    """(task name, args) of the messages waiting in this test process's Celery queue; with
    `take`, removed from it, so nothing is left for a later test's worker to pick up."""
    tasks = []
    for message in queued_messages(take=take):
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


def queued_messages(*, take: bool = False) -> list[dict]:
    """The messages waiting in this test process's Celery queue, as kombu stored them."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    messages = []
    try:
        for raw in client.lrange(queue, 0, -1):
            messages.append(json.loads(raw))
            if take:
                client.lrem(queue, 1, raw)
    finally:
        client.close()
    return messages
