"""The Celery app: settings come from Django's (CELERY_ prefix), tasks from each app."""

import os

from celery import Celery
from celery.signals import worker_init

from config import gc_tuning
from config.env import env_float

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("comeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # JSON only: tasks carry ids, never pickled objects.
    task_serializer="json",
    accept_content=["json"],
    # No result backend: the database records every outcome.
    task_ignore_result=True,
    result_backend=None,
    # Celery's default, 4 per thread. At 1, a threads-pool worker whose slots were all reserved
    # stopped reading Redis until kombu's 10-s restore timer woke its loop (reproduced: ticks
    # sent every 0.5 s arrived in bursts 10 s apart), so wake-ups waited or expired.
    worker_prefetch_multiplier=4,
    # A stuck task is killed rather than holding a worker slot (and its lease) forever.
    task_soft_time_limit=120,
    task_time_limit=150,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # Records beat's own tick for /healthz (health/beat.py).
    beat_scheduler="health.beat:HeartbeatScheduler",
    # Reconnects to a restarted broker within the transport options' intervals (consumer.py).
    worker_consumer="config.consumer:Consumer",
)
app.autodiscover_tasks()


@worker_init.connect
def _tune_collector(**kwargs: object) -> None:
    gc_tuning.apply()  # config/gc_tuning.py: the dispatcher's objects, not the web's


# Read from the environment like config/settings.py does (same names and defaults): importing
# Django settings here would run them while the `config` package is still being imported.
DISPATCH_TICK_SECONDS = env_float("DISPATCH_TICK_SECONDS", 1.0)
DISPATCH_SWEEP_SECONDS = env_float("DISPATCH_SWEEP_SECONDS", 30.0)
HEALTH_HEARTBEAT_SECONDS = env_float("HEALTH_HEARTBEAT_SECONDS", 5.0)

# Periodic work is idempotent (it looks for due rows in the database), so a missed or doubled
# tick never sends twice. Exactly one beat process is still the deployment rule.
app.conf.beat_schedule = {
    # A task beat sends and a worker executes: /healthz's proof that tasks are being run.
    "health-heartbeat": {
        "task": "health.heartbeat",
        "schedule": HEALTH_HEARTBEAT_SECONDS,
        "options": {"expires": HEALTH_HEARTBEAT_SECONDS * 2},
    },
    # The embedded broker keeps every message it handed out unless told (a no-op on Redis).
    "health-broker-prune": {"task": "health.broker_prune", "schedule": 300.0},
    # Wakes a dispatcher for each account with due work (campaigns/dispatch/).
    "campaigns-dispatch-tick": {
        "task": "campaigns.dispatch_tick",
        "schedule": DISPATCH_TICK_SECONDS,
        # A tick that could not run in time is pointless: the next one is seconds away.
        "options": {"expires": DISPATCH_TICK_SECONDS},
    },
    # Recovers rows a dead dispatcher left on accounts nobody is dispatching.
    "campaigns-dispatch-sweep": {
        "task": "campaigns.dispatch_sweep",
        "schedule": DISPATCH_SWEEP_SECONDS,
    },
}

# Campaign engine: materialization and the order-event sweep (campaigns/services.py), low-score
# survey alerts (campaigns/surveys.py). Both idempotent, like everything above.
MATERIALIZE_TICK_SECONDS = env_float("MATERIALIZE_TICK_SECONDS", 10.0)
STATS_SNAPSHOT_SECONDS = env_float("STATS_SNAPSHOT_SECONDS", 60.0)
PROGRAMME_SNAPSHOT_SECONDS = env_float("PROGRAMME_SNAPSHOT_SECONDS", 120.0)
app.conf.beat_schedule |= {
    "campaigns-materialize-tick": {
        "task": "campaigns.materialize_tick",
        "schedule": MATERIALIZE_TICK_SECONDS,
        "options": {"expires": MATERIALIZE_TICK_SECONDS},
    },
    "campaigns-survey-alerts": {"task": "campaigns.survey_alerts", "schedule": 60.0},
    # Keeps big campaigns' stats pages fast (campaigns/stats_snapshot.py); a late run is useless.
    "campaigns-stats-snapshots": {
        "task": "campaigns.stats_snapshots",
        "schedule": STATS_SNAPSHOT_SECONDS,
        "options": {"expires": STATS_SNAPSHOT_SECONDS},
    },
    # The programme dashboard's default period: seconds of aggregates over a month of
    # deliveries, so less often than the campaigns' (still well inside STATS_SNAPSHOT_MAX_AGE).
    "campaigns-programme-snapshot": {
        "task": "campaigns.programme_snapshot",
        "schedule": PROGRAMME_SNAPSHOT_SECONDS,
        "options": {"expires": PROGRAMME_SNAPSHOT_SECONDS},
    },
    # Purges what is past its retention, in short batches (subscriptions/privacy/retention.py).
    "subscriptions-retention-purge": {"task": "subscriptions.retention_purge", "schedule": 3600.0},
}

# Inbound events a worker should have handled and has not (channels/inbound.py).
INBOUND_SWEEP_SECONDS = env_float("INBOUND_SWEEP_SECONDS", 30.0)
app.conf.beat_schedule |= {
    "channels-inbound-sweep": {
        "task": "channels.inbound_sweep",
        "schedule": INBOUND_SWEEP_SECONDS,
        "options": {"expires": INBOUND_SWEEP_SECONDS},
    },
}

# Webhooks out to the shop (shopwebhooks/delivery.py): retries come due by this sweep; new
# events also wake the task at once.
SHOP_WEBHOOK_SWEEP_SECONDS = env_float("SHOP_WEBHOOK_SWEEP_SECONDS", 10.0)
app.conf.beat_schedule |= {
    "shopwebhooks-deliver": {
        "task": "shopwebhooks.deliver",
        "schedule": SHOP_WEBHOOK_SWEEP_SECONDS,
        "options": {"expires": SHOP_WEBHOOK_SWEEP_SECONDS},
    },
}
