"""`make run` in miniature: the Procfile's web, worker and beat on the embedded backends."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

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
    env.update(VAR_DIR=str(tmp_path), DEBUG="1", PORT=str(port), WEB_CONCURRENCY="1",
               WORKER_CONCURRENCY="1")  # fmt: skip
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return env, f"http://127.0.0.1:{port}"


def test_it_runs_web_worker_and_beat_with_nothing_configured(embedded_env):
    env, base = embedded_env
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", "Procfile", "web", "worker", "beat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        # then the web answers with both embedded backends up
        _, body = wait_for(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r, 60)
        health = json.loads(body)
        assert health["database"]["backend"] == "sqlite"
        assert health["broker"]["backend"] == "filesystem"
        assert _get(f"{base}/admin/login/")[0] == 200
        # and beat's heartbeat task reaches the worker, which records it
        wait_for(lambda: json.loads(_get(f"{base}/healthz")[1])["worker"]["last_heartbeat"], 60)
    finally:
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            honcho.wait(timeout=20)
        finally:
            os.killpg(honcho.pid, signal.SIGKILL) if honcho.poll() is None else None
    # and Ctrl-C stopped every process of the group
    assert subprocess.run(["pgrep", "-g", str(honcho.pid)], capture_output=True).returncode == 1
