import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from health.models import Heartbeat
from health.tasks import heartbeat
from tests.workers import celery_beat, celery_worker, wait_for


@pytest.fixture
def fresh_heartbeats(db):
    """A worker and beat that beat just now, as a running deployment's do."""
    for name in ("worker", "beat"):
        Heartbeat.objects.create(name=name, beat_at=timezone.now())


@pytest.mark.django_db
def test_it_answers_200_with_backends_when_all_are_up(client, settings, fresh_heartbeats):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"backend": "postgresql" if settings.DATABASE_URL else "sqlite",
                                "ok": True}  # fmt: skip
    assert body["broker"]["ok"] is True
    assert body["broker"]["backend"] == ("redis" if settings.REDIS_URL else "sqlite")
    assert body["worker"]["ok"] is True and body["beat"]["ok"] is True


@pytest.mark.django_db
def test_it_answers_503_quickly_when_redis_is_unreachable(client):
    # Nothing listens on port 1: the probe must fail fast, not hang.
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unavailable"
    assert elapsed < 5


@pytest.fixture
def own_redis():
    """A Redis server of this test's own on a free loopback port, so it can be stopped."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: _port_open(port), 10)
        yield server, f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.redis
@pytest.mark.django_db
def test_it_answers_503_within_5_seconds_of_redis_stopping(client, own_redis, fresh_heartbeats):
    server, url = own_redis
    with override_settings(REDIS_URL=url):
        # given a healthy service on a real Redis
        assert client.get("/healthz").status_code == 200

        # when Redis stops
        server.terminate()
        server.wait(timeout=10)
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started

    # then the next request answers 503 promptly, naming the broker
    assert response.status_code == 503
    broker = response.json()["broker"]
    assert (broker["backend"], broker["ok"]) == ("redis", False)
    assert elapsed < 5


@pytest.mark.django_db
def test_it_reports_the_last_worker_heartbeat(client, fresh_heartbeats):
    body = client.get("/healthz").json()

    assert body["worker"]["age_seconds"] < 5
    assert body["beat"]["age_seconds"] < 5


@pytest.mark.django_db
def test_it_answers_503_naming_the_worker_when_its_heartbeat_is_stale(client, settings):
    settings.HEALTH_WORKER_MAX_AGE = 30
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=31))
    Heartbeat.objects.create(name="beat", beat_at=timezone.now())

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["worker"]["ok"] is False
    assert body["reasons"] == ["no worker heartbeat for 31 s (limit 30 s)"]
    assert body["beat"]["ok"] is True  # beat is reported, and fine


@pytest.mark.django_db
def test_it_answers_503_before_any_worker_ever_beat(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["reasons"] == ["no worker heartbeat yet"]


def test_it_rejects_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_task_in_a_real_worker_through_redis_into_postgres():
    # given a real worker process consuming the real Redis broker against the test database
    with celery_worker():
        # when the web side sends a task
        heartbeat.delay("from-web")

        # then the worker executed it and wrote to PostgreSQL
        beat = wait_for(lambda: Heartbeat.objects.filter(name="from-web").first())
    assert (timezone.now() - beat.beat_at).total_seconds() < 30


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_goes_503_when_the_worker_stops_and_200_when_it_returns(client, settings):
    # Heartbeats every second, stale after 4: the stated time to notice a dead worker.
    settings.HEALTH_WORKER_MAX_AGE = 4
    fast = {"HEALTH_HEARTBEAT_SECONDS": "1"}
    with celery_beat(**fast):
        with celery_worker(**fast):
            wait_for(lambda: client.get("/healthz").status_code == 200, 30)
        # when the worker stops, then within the max age (plus one heartbeat) it is a 503
        stopped = time.monotonic()
        response = wait_for(lambda: (r := client.get("/healthz")).status_code == 503 and r, 10)
        assert time.monotonic() - stopped <= 4 + 1 + 0.5
        assert response.json()["reasons"][0].startswith("no worker heartbeat for")
        assert response.json()["beat"]["ok"] is True
        # and once a worker is back it is 200 again
        with celery_worker(**fast):
            wait_for(lambda: client.get("/healthz").status_code == 200, 15)
