import subprocess
import sys

from tests.workers import ROOT


def _settings_error(expression: str = "settings.DEBUG", **env: str) -> str:
    """What a fresh process prints for `expression` (or its start-up error) under `env`."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; "
         f"django.setup(); print({expression})"],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings",
                       **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result.stdout + result.stderr


def test_it_refuses_to_start_without_secret_key_outside_debug():
    output = _settings_error(DEBUG="0")
    assert "SECRET_KEY must be set when DEBUG is off" in output


def test_it_rejects_a_malformed_boolean():
    output = _settings_error(DEBUG="maybe", SECRET_KEY="x")
    assert "DEBUG='maybe' is not a boolean" in output


def test_it_starts_in_debug_without_secret_key():
    assert _settings_error(DEBUG="1").strip().endswith("True")


def test_it_sends_mail_over_smtp_once_a_host_is_set():
    output = _settings_error("settings.EMAIL_BACKEND", DEBUG="1", EMAIL_HOST="smtp.shop.example")
    assert output.strip() == "django.core.mail.backends.smtp.EmailBackend"


def test_it_turns_off_server_side_cursors_and_prepared_statements_behind_pgbouncer():
    url = "postgres://app@127.0.0.1:6432/comeback"
    database = "settings.DATABASES['default']"
    expression = f"{database}['DISABLE_SERVER_SIDE_CURSORS'], {database}['OPTIONS']"
    pooled = _settings_error(
        expression, DEBUG="1", DATABASE_URL=url, DATABASE_POOLING="transaction"
    )
    direct = _settings_error(expression, DEBUG="1", DATABASE_URL=url)
    assert pooled.strip() == "True {'prepare_threshold': None}"
    assert direct.strip() == "False {}"


def test_it_rejects_an_unknown_database_pooling():
    output = _settings_error(DEBUG="1", DATABASE_URL="postgres://a@h/d", DATABASE_POOLING="stmt")
    assert "DATABASE_POOLING must be 'session' or 'transaction'" in output


def test_it_rejects_fewer_than_one_inbound_stream():
    output = _settings_error(DEBUG="1", INBOUND_STREAMS="0")
    assert "INBOUND_STREAMS must be 1 or more" in output


def test_every_beat_entry_names_a_registered_task():
    # A misspelt name would be sent every interval and dropped by the worker as unknown.
    from config.celery import app

    app.loader.import_default_modules()
    names = [entry["task"] for entry in app.conf.beat_schedule.values()]
    assert names and [name for name in names if name not in app.tasks] == []
