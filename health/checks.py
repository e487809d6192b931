"""Probes for /healthz: each answers quickly, even when its backend is down."""

from datetime import datetime

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config import embedded_broker
from health.models import Heartbeat


def database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"backend": connection.vendor, "ok": True}
    except Exception as exc:  # any driver error means "down" to a health check
        return {"backend": connection.vendor, "ok": False, "error": str(exc)[:200]}


def broker_state() -> dict:
    if settings.REDIS_URL:
        # Short timeouts: a dead Redis must turn into a 503, not a hung request.
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            client.ping()
            return {"backend": "redis", "ok": True}
        except redis.RedisError as exc:
            return {"backend": "redis", "ok": False, "error": str(exc)[:200]}
        finally:
            client.close()
    return embedded_broker.state(embedded_broker.path_of(settings.CELERY_BROKER_URL))


def heartbeat_state(name: str, *, max_age: float, now: datetime | None = None) -> dict:
    """When `name` last beat and whether that is recent enough (call with the database up)."""
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return {"ok": False, "last": None, "error": f"no {name} heartbeat yet"}
    age = ((now or timezone.now()) - beat.beat_at).total_seconds()
    state = {"ok": age <= max_age, "last": beat.beat_at.isoformat(), "age_seconds": round(age, 1)}
    if not state["ok"]:
        state["error"] = f"no {name} heartbeat for {age:.0f} s (limit {max_age:.0f} s)"
    return state
