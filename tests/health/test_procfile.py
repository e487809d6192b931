"""`make run` in miniature: the Procfile's web, worker and beat on the embedded backends, under
the process manager `make run` uses (bin/supervise)."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
import requests

from tests.workers import ROOT, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port = _free_port()
    # The order-event sweep would also process a lost event after a while: keep it out of the
    # way, so only the task the web process sends can process it in time.
    # Updates are handled by the worker, as `make run` does by default (the suite's own tests
    # handle them in the request); replies to them fail fast at a closed port.
    env.update(VAR_DIR=str(tmp_path), DEBUG="1", PORT=str(port), WEB_CONCURRENCY="1",
               WORKER_CONCURRENCY="1", ORDER_EVENT_SWEEP_SECONDS="3600",
               INBOUND_PROCESSING="worker", INBOUND_SWEEP_SECONDS="3600",
               TELEGRAM_API_BASE="http://127.0.0.1:9")  # fmt: skip
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return env, f"http://127.0.0.1:{port}"


def test_it_runs_web_worker_and_beat_with_nothing_configured(embedded_env):
    env, base = embedded_env
    manager = subprocess.Popen(
        [sys.executable, "bin/supervise", "web", "worker", "beat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        # then the web answers with both embedded backends up, and a worker that runs tasks
        _, body = wait_for(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r, 90)
        health = json.loads(body)
        assert health["database"]["backend"] == "sqlite"
        assert health["broker"]["backend"] == "sqlite"
        assert health["worker"]["ok"] and health["beat"]["ok"]
        assert _get(f"{base}/admin/login/")[0] == 200
        # and a task the web process sends (an order event's triggers) is executed by the worker
        key = _manage(env, "create_api_key", "procfile-test").strip().splitlines()[-1]
        event_id = _post_order_event(base, key)
        wait_for(lambda: _event_processed(env, event_id), 60)
        # and so is a messenger update the webhook stored for it
        update_id = _post_telegram_update(env, base)
        wait_for(lambda: _update_handled(env, update_id), 60)

        # when the worker dies, the web and beat keep running and the worker is started again
        others = _pids(manager.pid, "gunicorn", "celery -A config beat")
        dead = _pid_of("celery -A config worker", manager.pid)
        os.kill(dead, signal.SIGKILL)
        wait_for(lambda: _pid_of("celery -A config worker", manager.pid) not in (0, dead), 30)
        assert _pids(manager.pid, "gunicorn", "celery -A config beat") == others
        # and the new worker runs tasks again
        event_id = _post_order_event(base, key, n=2)
        wait_for(lambda: _event_processed(env, event_id), 60)
        assert _get(f"{base}/admin/login/")[0] == 200
    finally:
        manager.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            manager.wait(timeout=60)
        finally:
            os.killpg(manager.pid, signal.SIGKILL) if manager.poll() is None else None
    # and Ctrl-C stopped every process, each by its own shutdown, none killed
    assert subprocess.run(["pgrep", "-s", str(manager.pid)], capture_output=True).returncode == 1
    log = (Path(env["VAR_DIR"]) / "supervisord.log").read_text()
    assert "stopped: worker (exit status 0)" in log
    assert log.count("terminated by SIGKILL") == 1  # the test's own kill, none at Ctrl-C


def _pids(session: int, *patterns: str) -> list[int]:
    return [_pid_of(pattern, session) for pattern in patterns]


def _pid_of(pattern: str, session: int) -> int:
    """The oldest process of the manager's session whose command line matches `pattern`."""
    found = subprocess.run(["pgrep", "-o", "-s", str(session), "-f", pattern],
                           capture_output=True, text=True)  # fmt: skip
    return int(found.stdout.split()[0]) if found.returncode == 0 else 0


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    return result.stdout


def _post_order_event(base: str, key: str, n: int = 1) -> str:
    headers = {"Authorization": f"Api-Key {key}"}
    order = {
        "external_id": "A-1", "customer": {"external_id": "C-1"}, "total": "1.00",
        "currency": "EUR", "status": "paid", "created_at": "2026-11-20T10:00:00+00:00",
    }  # fmt: skip
    assert requests.post(f"{base}/api/v1/orders/", json=order, headers=headers, timeout=10).ok
    event = {"event_id": f"ev-procfile-{n}", "type": "order.delivered", "order_external_id": "A-1",
             "occurred_at": "2026-11-21T10:00:00+00:00"}  # fmt: skip
    response = requests.post(f"{base}/api/v1/events/", json=event, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    # The batch endpoint on the embedded database too: the new event and a repeat of this one
    batch = {"events": [{**event, "event_id": f"ev-procfile-batch-{n}"}, event]}
    response = requests.post(f"{base}/api/v1/events/batch/", json=batch, headers=headers,
                             timeout=10)  # fmt: skip
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == [201, 201]
    assert response.json()["created"] == 1
    return event["event_id"]


def _event_processed(env: dict[str, str], event_id: str) -> bool:
    return _processed(env, "subscriptions_orderevent", event_id)


def _processed(env: dict[str, str], table: str, event_id: str, also: str = "") -> bool:
    # Read the embedded database directly: the web process only stores the event, the
    # worker's task stamps it processed (and `also`, a column that must be true too).
    columns = f"processed_at, {also}" if also else "processed_at"
    with closing(sqlite3.connect(Path(env["VAR_DIR"]) / "comeback.sqlite3", timeout=10)) as db:
        row = db.execute(
            f"SELECT {columns} FROM {table} WHERE event_id = ?",  # noqa: S608 - names are ours
            (event_id,),
        ).fetchone()
    return bool(row and all(row))


def _post_telegram_update(env: dict[str, str], base: str) -> str:
    secret = _manage(env, "shell", "-c", (
        "from channels.models import ChannelAccount as A;"
        "a = A.objects.create(kind='telegram', name='procfile-bot',"
        " credentials={'token': '1:x', 'username': 'procfile_bot'}); print(a.webhook_secret)"
    )).strip().splitlines()[-1]  # fmt: skip
    update = {"update_id": 424242, "message": {
        "message_id": 1, "date": 1767261660, "text": "hello",
        "from": {"id": 5550001, "is_bot": False, "first_name": "Olga"},
        "chat": {"id": 5550001, "first_name": "Olga", "type": "private"},
    }}  # fmt: skip
    response = requests.post(f"{base}/hooks/procfile-bot/", json=update, timeout=10,
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret})  # fmt: skip
    assert response.status_code == 200, response.text
    return "424242"


def _update_handled(env: dict[str, str], event_id: str) -> bool:
    return _processed(env, "channels_inboundevent", event_id, also="deferred")
