"""Probes for /healthz: each answers quickly, even when its backend is down."""

from pathlib import Path

import redis
from django.conf import settings
from django.db import connection


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
    folder = Path(settings.BROKER_DIR)
    ok = folder.is_dir() and _writable(folder)
    return {"backend": "filesystem", "ok": ok}


def _writable(folder: Path) -> bool:
    probe = folder / ".healthz"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False
