"""Test-run environment, loaded as a plugin (`-p tests.testenv`) before Django reads settings."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("PUBLIC_BASE_URL", "https://comeback.test")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# One broker queue per test process, so parallel runs (and a `make run` on the same Redis)
# never consume each other's tasks.
os.environ["CELERY_QUEUE"] = f"comeback-test-{os.getpid()}"
# Several test runs may share one PostgreSQL server (parallel checkouts, a developer's run and
# CI); each gets its own test database. xdist appends _gw0, _gw1, ... per process.
os.environ.setdefault("DATABASE_TEST_NAME", f"test_comeback_{os.getpid()}")
# A dispatch run ends as soon as nothing is due: tests run the dispatcher hundreds of times
# and would each wait for more. The linger itself is tested with its own setting.
os.environ.setdefault("DISPATCH_IDLE_SECONDS", "0")
# Stats pages compute their figures afresh in tests; the snapshot is tested with its own setting.
os.environ.setdefault("STATS_SNAPSHOT_MAX_AGE", "0")
# The suite drives the whole flow through the sandbox messenger, as a developer would (DEBUG
# is off in tests, and the sandbox follows DEBUG by default).
os.environ.setdefault("SANDBOX_ENABLED", "1")
# Channel secrets are encrypted at rest; production must set its own key (DEBUG is off here).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "Y29tZWJhY2stdGVzdC1maWVsZC1rZXktMzItYnl0ZXM=")
# The handlers' tests see an event's effects as its webhook returns; the worker's path
# (INBOUND_PROCESSING's default) is tested with its own setting.
os.environ.setdefault("INBOUND_PROCESSING", "request")
