"""Coalesced wake-ups: a task that drains work stored in the database is sent once per burst.

The shop may post a hundred order events a second; one task each costs the web process a
publish and the worker a message (receive, ack, log) for work one pass can do for all of them.
So a sender first marks the wake-up as on its way (a Redis key, SET NX); while the mark stands,
others send nothing. The task removes the mark before it reads the database: work committed
after that sends a new wake-up, work committed before it is read. The mark expires on its own,
so a lost task delays the next wake-up by MARK_SECONDS at most (the periodic sweep covers the
rest). Without Redis (the embedded broker) every call sends.
"""

from typing import Any

import redis
from django.conf import settings

from config.celery import app

MARK_SECONDS = 5
_client: redis.Redis | None = None
_client_url = ""


def wake_once(task_name: str, *, args: tuple[Any, ...] = (), key: str = "") -> bool:
    """Send `task_name` unless a wake-up of it is already on its way; True if sent. `key`
    tells apart wake-ups of one task that drain different work (each has its own mark)."""
    client = redis_client()
    if client is not None:
        try:
            if not client.set(_mark(task_name, key), 1, nx=True, ex=MARK_SECONDS):
                return False
        except redis.RedisError:
            pass  # cannot tell: send, as without coalescing
    # One quick retry, not kombu's default patience: a request is waiting on us.
    app.send_task(task_name, args=list(args), retry_policy={"max_retries": 1})
    return True


def woken(task_name: str, key: str = "") -> None:
    """Called by the task before it reads its work: what is stored from now on wakes it again."""
    client = redis_client()
    if client is None:
        return
    try:
        client.delete(_mark(task_name, key))
    except redis.RedisError:
        pass  # the mark expires by itself


def _mark(task_name: str, key: str = "") -> str:
    # Per queue: test runs and a `make run` sharing one Redis keep their own marks.
    mark = f"comeback:wake:{settings.CELERY_TASK_DEFAULT_QUEUE}:{task_name}"
    return f"{mark}:{key}" if key else mark


def redis_client() -> redis.Redis | None:
    """REDIS_URL's client (one per process), or None without Redis (the embedded broker)."""
    global _client, _client_url
    if not settings.REDIS_URL:
        return None
    if _client is None or _client_url != settings.REDIS_URL:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        _client_url = settings.REDIS_URL
    return _client
