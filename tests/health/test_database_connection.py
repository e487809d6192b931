"""A persistent database connection the server ended is replaced before it is used, and a
healthy one is checked without a query (config/postgresql)."""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # Through PgBouncer each transaction may run on another server connection, and our socket
    # is the pooler's: these tests look at one server backend behind one socket.
    pytest.mark.skipif(
        getattr(settings, "DATABASE_POOLING", "session") == "transaction",
        reason="the server backend under a pooled connection changes per transaction",
    ),
]


def from_outside(sql: str, *params: object) -> list[tuple]:
    """Run `sql` on a connection of its own (not Django's)."""
    database = connection.settings_dict
    with psycopg.connect(
        host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"],
        password=database["PASSWORD"], dbname=database["NAME"], autocommit=True,
    ) as outside:  # fmt: skip
        return outside.execute(sql, params).fetchall()


def own_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_healthy_idle_connection_is_usable_without_a_query():
    pid = own_pid()

    assert connection.is_usable()

    # the server's record of the backend's last statement is still ours: no SELECT 1 went out
    [(last,)] = from_outside("SELECT query FROM pg_stat_activity WHERE pid = %s", pid)
    assert last == "SELECT pg_backend_pid()"


def test_a_connection_the_server_ended_is_replaced_before_the_next_query():
    # given a connection the server terminated while it sat idle (a restart, say)
    pid = own_pid()
    assert from_outside("SELECT pg_terminate_backend(%s)", pid) == [(True,)]
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the backend's goodbye is on its way
    assert not connection.is_usable()

    # when the next request's first query runs (Django checks health once per request)
    connection.health_check_done = False
    new_pid = own_pid()

    # then it ran on a new connection instead of failing
    assert new_pid != pid
    assert connection.is_usable()
