import os

import pytest

ON_SQLITE = bool(os.environ.get("COMEBACK_TEST_SQLITE"))
NO_REDIS = bool(os.environ.get("COMEBACK_TEST_NO_REDIS")) or not os.environ.get("REDIS_URL")


THROUGH_PGBOUNCER = bool(os.environ.get("PGBOUNCER_ADMIN_URL"))  # set by that pass only
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, by name, what the fallback environment cannot run. The pass through PgBouncer
    (bin/test-passes) runs every test that touches the database; one that opens no connection
    runs the same either way and is left to the direct pass."""
    if THROUGH_PGBOUNCER:
        keep = [item for item in items if _touches_database(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL; running on the SQLite fallback")
    skip_redis = pytest.mark.skip(reason="needs Redis; none reachable (REDIS_URL unset)")
    for item in items:
        if ON_SQLITE and "postgres" in item.keywords:
            item.add_marker(skip_pg)
        if NO_REDIS and "redis" in item.keywords:
            item.add_marker(skip_redis)


def _touches_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))  # every fixture it needs, however deep
    return item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = "SQLite (FALLBACK)" if ON_SQLITE else os.environ.get("DATABASE_URL", "?")
    return [f"comeback: database={database} redis={os.environ.get('REDIS_URL') or 'NONE'}"]


@pytest.fixture
def fake_platform():
    """A real HTTP fake of the five platforms on loopback, fresh for each test."""
    from channels.fake_platform import FakePlatform

    with FakePlatform(host="127.0.0.1", port=0) as fake:
        yield fake


@pytest.fixture
def account_on(fake_platform, db):
    """Make a channel account of `kind` whose API base is the fake platform server."""
    from tests.factories import ChannelAccountFactory

    def make(kind: str, **fields):
        return ChannelAccountFactory(kind=kind, api_base=fake_platform.url, **fields)

    return make


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """Each test looks content types up afresh: a transactional test's flush recreates them
    with new ids, and a cached id from before makes the admin's history rows point nowhere."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _no_wake_marks_left():
    """Each test starts with no coalesced wake-up on its way (config/wakeups.py): a mark left by
    an earlier test in this process would swallow the next wake-up. And with this process's
    Celery queue empty: ticks an earlier test left there (or an earlier run whose process had
    the same pid, since the queue is named after it) would sit ahead of this test's tasks."""
    from django.conf import settings

    if not settings.REDIS_URL:
        yield
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pattern = f"comeback:wake:{settings.CELERY_TASK_DEFAULT_QUEUE}:*"
    try:
        keys = [*client.scan_iter(match=pattern), settings.CELERY_TASK_DEFAULT_QUEUE]
        client.delete(*keys)
    except redis.RedisError:
        pass  # no Redis: the tests that need it are skipped by name
    finally:
        client.close()
    yield


@pytest.fixture
def broker_down(monkeypatch, settings):
    """Celery's broker (and the wake-up marks' Redis) at an address where nothing listens."""
    from config.celery import app

    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    monkeypatch.setitem(app.conf, "broker_write_url", settings.REDIS_URL)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Through PgBouncer: drop its server connections to the test database before the drop."""
    yield
    admin = os.environ.get("PGBOUNCER_ADMIN_URL")  # set by `make test`'s pass through PgBouncer
    if not admin:
        return
    import psycopg
    from django.db import connection

    connection.close()
    name = connection.settings_dict["NAME"]
    with psycopg.connect(admin, autocommit=True, prepare_threshold=None) as console:
        # KILL drops the pool's server connections; RESUME lets the database be used again.
        console.execute(f'KILL "{name}"')
        console.execute(f'RESUME "{name}"')
