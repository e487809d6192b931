"""Comeback settings. Everything comes from the environment; see README for the full table."""

import base64
import hashlib
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import embedded_broker
from config.env import env_bool, env_float, env_int, env_json, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-dev-key-only-for-debug"  # noqa: S105 - DEBUG only, never production

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Where platforms and customers reach us: webhook URLs and deep-link pages are built from it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served by us: /api/docs/ works offline
    "health",
    "channels",
    "subscriptions",
    "campaigns",
    "shopwebhooks",
    "anymail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL from DATABASE_URL, else embedded SQLite in var/ ---------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Health checks: a connection the server dropped (a restart, a terminated backend) is
    # noticed and replaced when a request or task starts, instead of failing its first query.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that reads the socket, not a round trip.
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    if env_str("DATABASE_TEST_NAME"):
        # Lets concurrent test runs on one server each create their own test database.
        DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME")}
    # Behind PgBouncer in transaction pooling mode each transaction may run on another server
    # connection, so nothing may outlive one: no server-side cursors (`.iterator()` would
    # declare a cursor in one transaction and fetch in the next) and no prepared statements
    # (PgBouncer 1.18 cannot route them in transaction mode). Advisory locks are `_xact_` and
    # `SET` is `SET LOCAL` throughout, so they need no switch. "session" keeps direct behaviour.
    DATABASE_POOLING = env_str("DATABASE_POOLING") or "session"
    if DATABASE_POOLING not in ("session", "transaction"):
        raise ImproperlyConfigured("DATABASE_POOLING must be 'session' or 'transaction'")
    if DATABASE_POOLING == "transaction":
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "comeback.sqlite3",
            "OPTIONS": {
                # web, worker and beat write concurrently: WAL lets readers proceed, the busy
                # timeout waits instead of failing, IMMEDIATE takes the write lock up front so a
                # read-then-write transaction cannot deadlock into "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("uk", "Українська")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve admin assets straight from the apps, so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Webhook bodies are small; anything bigger is refused before a view reads it (answered 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 1024 * 1024)

# --- Celery: Redis from REDIS_URL, else kombu's SQLAlchemy transport on a SQLite file in var/ --
# The filesystem transport raced between processes (kombu #1551) and killed the embedded worker
# within the hour. The SQLAlchemy transport takes each message in an IMMEDIATE transaction, so
# two consumers never take the same one, and it needs no server: still only Python to run.
REDIS_URL = env_str("REDIS_URL")
BROKER_DB = VAR_DIR / "broker.sqlite3"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        # Our tasks are short; redelivery after this timeout is harmless because they are
        # idempotent (the database, not the broker, records outcomes).
        "visibility_timeout": 600,
        "socket_connect_timeout": 3,
        "socket_timeout": 5,
        # Reconnect within a fraction of a second of Redis being back (kombu's default waits
        # 2 s, then 4, 6...): a restart must not stop the tick and the wake-ups for long.
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
else:
    embedded_broker.prepare(BROKER_DB)
    CELERY_BROKER_URL = embedded_broker.url_for(BROKER_DB)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Web, worker and beat write the file at once: wait for the lock instead of failing.
        "connect_args": {"timeout": 30},
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "comeback")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
DISPATCH_TICK_SECONDS = env_float("DISPATCH_TICK_SECONDS", 1.0)
# /healthz answers 503 when no worker has executed beat's heartbeat task (every
# HEALTH_HEARTBEAT_SECONDS, config/celery.py) for this long.
HEALTH_WORKER_MAX_AGE = env_float("HEALTH_WORKER_MAX_AGE", 30.0)

# --- Logging: one line per record to stderr, where the Procfile runner collects it ------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Comeback API",
    "DESCRIPTION": "Orders, order events, subscribe links, subscriptions and campaigns.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components, so read-only fields are not asked for.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status": name each enum after its model, not a hash.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "subscriptions.models.Order.Status",
        "OrderEventTypeEnum": "subscriptions.models.OrderEvent.Type",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "TopicEnum": ["menu", "surveys", "promotions"],  # subscriptions.models.TOPICS
        "ChannelKindEnum": "channels.providers.KIND_CHOICES",
        "KindEnum": "campaigns.models.Campaign.Kind",  # the name it had before reorders came
        "ReorderKindEnum": "campaigns.models.Reorder.Kind",
        "ReorderStateEnum": "campaigns.models.Reorder.State",
    },
}

# Webhooks out to the shop (shopwebhooks/): each attempt's timeout, and how long a failing
# endpoint is retried (with backoff) before the delivery gives up.
SHOP_WEBHOOK_TIMEOUT_SECONDS = env_float("SHOP_WEBHOOK_TIMEOUT_SECONDS", 5.0)
SHOP_WEBHOOK_RETRY_HOURS = env_float("SHOP_WEBHOOK_RETRY_HOURS", 24.0)

# Survey alerts go by e-mail: over SMTP once EMAIL_HOST is set, else printed by the worker.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10  # a slow mail server must not hold a worker
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "comeback@localhost")
# The e-mail channel (channels/providers/email/): its own backend, so marketing mail can go
# through an ESP (e.g. anymail.backends.postmark.EmailBackend) while alerts use SMTP.
EMAIL_CHANNEL_BACKEND = env_str("EMAIL_CHANNEL_BACKEND", EMAIL_BACKEND)
# anymail's settings as JSON (the ESP's keys, e.g. {"POSTMARK_SERVER_TOKEN": "…"}). Its
# tracking webhooks (/webhooks/anymail/<esp>/tracking/) demand HTTP basic auth with
# ANYMAIL_WEBHOOK_SECRET ("user:password"); without it every tracking post is refused.
ANYMAIL = {
    **env_json("ANYMAIL_SETTINGS", {}),
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET") or None,
}

# --- Channels ---------------------------------------------------------------------------------
# Platform API bases are settings so tests and benchmarks can point the real adapters at the
# fake platform server (python -m channels.fake_platform); accounts may override them too.
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")
SMSRU_API_BASE = env_str("SMSRU_API_BASE", "https://sms.ru")
GRAPH_API_BASE = env_str("GRAPH_API_BASE", "https://graph.facebook.com")
GRAPH_API_VERSION = env_str("GRAPH_API_VERSION", "v25.0")
VIBER_API_BASE = env_str("VIBER_API_BASE", "https://chatapi.viber.com")
VK_API_BASE = env_str("VK_API_BASE", "https://api.vk.com")
VK_API_VERSION = env_str("VK_API_VERSION", "5.199")
# Called in order with each stored inbound event; each returns replies to send.
INBOUND_EVENT_HANDLERS: list[str] = [
    "subscriptions.inbound.handle_event",
    "campaigns.inbound.handle_event",  # after subscriptions: STOP is handled first
]
# Called (account=, platform_user_id=, reason=) when a reply finds the user gone (blocked us):
# the app that owns subscriptions marks it, so channels imports none of it. Empty = nobody.
RECIPIENT_GONE_HANDLER = env_str("RECIPIENT_GONE_HANDLER", "subscriptions.services.recipient_gone")
# What of a deep-link token an inbound event may keep (the rest is a bearer credential): the
# stored event has it in place of the token wherever the token appears. Empty = keep it all.
INBOUND_TOKEN_KEPT = env_str("INBOUND_TOKEN_KEPT", "subscriptions.tokens.token_stored")
# Where inbound events are handled: "worker" (the webhook verifies, stores and answers; a
# worker runs the handlers, in arrival order) or "request" (in the webhook's request). A start
# carrying a deep-link token, and events whose answer must carry the reply (Viber's
# conversation_started, the sandbox), are handled in the request either way.
INBOUND_PROCESSING = env_str("INBOUND_PROCESSING", "worker")
if INBOUND_PROCESSING not in ("worker", "request"):
    raise ImproperlyConfigured("INBOUND_PROCESSING must be 'worker' or 'request'")
# The sweep (beat) handles deferred events this old that no worker has handled: a lost
# wake-up, a failed handler. Beat reads it in config/celery.py.
INBOUND_SWEEP_SECONDS = env_float("INBOUND_SWEEP_SECONDS", 30.0)
# How many drains handle deferred events side by side (a customer's events always in the same
# one, in order): one drain is one worker thread's pace.
INBOUND_STREAMS = env_int("INBOUND_STREAMS", 4)
if INBOUND_STREAMS < 1:
    raise ImproperlyConfigured("INBOUND_STREAMS must be 1 or more")
# A reply still unsent this long after its first try (the account paused by a 429, the
# platform down) is dropped and logged: a welcome minutes late confuses more than it helps.
REPLY_MAX_AGE_SECONDS = env_float("REPLY_MAX_AGE_SECONDS", 120.0)

# --- Subscriptions ----------------------------------------------------------------------------
# Deep-link tokens (subscriptions/tokens.py). Comma-separated, NEWEST FIRST: the first secret
# signs, every listed secret verifies. Rotate by prepending a new secret; drop the old one once
# TOKEN_MAX_AGE_DAYS have passed (its links have expired by then anyway).
TOKEN_SECRETS = env_list("TOKEN_SECRETS", [SECRET_KEY])
if not TOKEN_SECRETS:
    raise ImproperlyConfigured("TOKEN_SECRETS must list at least one secret")
# How long a subscribe link from an order stays usable.
TOKEN_MAX_AGE_DAYS = env_int("TOKEN_MAX_AGE_DAYS", 30)
# The shop's site: where the bot sends a customer whose link did not work.
SHOP_URL = env_str("SHOP_URL", "https://shop.example")

# --- Campaign engine --------------------------------------------------------------------------
# Materialization (campaigns/materialize.py): a one-off is written this long before send_at; a
# weekly occurrence once its local due time is within the lookahead (so each customer's row
# exists before it is due), refreshed every REFRESH seconds to add newer subscribers.
MATERIALIZE_TICK_SECONDS = env_float("MATERIALIZE_TICK_SECONDS", 10.0)
ONE_OFF_LOOKAHEAD_SECONDS = env_int("ONE_OFF_LOOKAHEAD_SECONDS", 300)
RECURRING_LOOKAHEAD_HOURS = env_int("RECURRING_LOOKAHEAD_HOURS", 6)
RECURRING_REFRESH_SECONDS = env_int("RECURRING_REFRESH_SECONDS", 600)
# A weekly occurrence whose local time passed less than this ago still goes out (a beat outage
# around 10:00 must not skip the week's menu).
RECURRING_LATE_MINUTES = env_int("RECURRING_LATE_MINUTES", 60)
# A big audience may be written by this many connections at once (PostgreSQL only), once the
# subscriptions table holds at least MIN_ROWS: one statement runs on one database core. One by
# default: on two cores two slices took as long at 45% more CPU (campaigns/materialize.py).
MATERIALIZE_SLICES = env_int("MATERIALIZE_SLICES", 1)
MATERIALIZE_SLICE_MIN_ROWS = env_int("MATERIALIZE_SLICE_MIN_ROWS", 200_000)
# A tick that wrote this many rows refreshes the delivery table's planner statistics at once
# (ANALYZE), so the dispatcher's queries are planned for the new campaign's size.
MATERIALIZE_ANALYZE_ROWS = env_int("MATERIALIZE_ANALYZE_ROWS", 10_000)
# A trigger whose due time is older than this is recorded as processed but not sent: a survey
# about last month's order (e.g. a replayed backlog) would do more harm than good.
TRIGGER_MAX_LATE_HOURS = env_int("TRIGGER_MAX_LATE_HOURS", 48)
# Order events the on-commit task never handled (broker lost) are swept after this many seconds.
ORDER_EVENT_SWEEP_SECONDS = env_int("ORDER_EVENT_SWEEP_SECONDS", 30)
# Attribution (campaigns/attribution.py): an order counts for the last delivery the customer
# clicked or read within this many days before placing it.
ATTRIBUTION_WINDOW_DAYS = env_int("ATTRIBUTION_WINDOW_DAYS", 7)
# Global holdout (campaigns/holdout.py): this share of customers (by a salted hash of their id,
# so it is stable) never gets marketing, to measure the whole programme. A new salt reshuffles.
GLOBAL_HOLDOUT_PERCENT = env_float("GLOBAL_HOLDOUT_PERCENT", 0.0)
if not 0 <= GLOBAL_HOLDOUT_PERCENT < 100:
    raise ImproperlyConfigured(
        f"GLOBAL_HOLDOUT_PERCENT={GLOBAL_HOLDOUT_PERCENT} is not in [0, 100)"
    )
GLOBAL_HOLDOUT_SALT = env_str("GLOBAL_HOLDOUT_SALT", "comeback-global-holdout")
# Stats pages read a campaign's (and the programme's) figures as a worker last computed them
# while younger than this (campaigns/stats_snapshot.py; beat refreshes them every
# STATS_SNAPSHOT_SECONDS and PROGRAMME_SNAPSHOT_SECONDS, config/celery.py).
STATS_SNAPSHOT_MAX_AGE = env_float("STATS_SNAPSHOT_MAX_AGE", 300.0)
# Surveys (campaigns/surveys.py): scores at or below LOW_SCORE alert the shop by e-mail, once the
# customer has commented or GRACE minutes passed (so one e-mail carries score and comment).
SURVEY_ALERT_EMAIL = env_list("SURVEY_ALERT_EMAIL")
# Staff chats for the same alerts: "<account name>:<chat id>", comma-separated (staff_chats.py).
SURVEY_ALERT_CHATS = env_list("SURVEY_ALERT_CHATS")
SURVEY_LOW_SCORE = env_int("SURVEY_LOW_SCORE", 2)
SURVEY_ALERT_GRACE_MINUTES = env_int("SURVEY_ALERT_GRACE_MINUTES", 10)
# A customer's text this soon after answering a survey is the answer's comment.
SURVEY_COMMENT_HOURS = env_int("SURVEY_COMMENT_HOURS", 24)

# --- Campaign dispatch ------------------------------------------------------------------------
# campaigns/dispatch/: one lease holder per channel account sends its due deliveries. The beat
# tick (DISPATCH_TICK_SECONDS, above) wakes accounts with due work and no live lease.
# Lease: a dead worker's account is taken over once this passes without a heartbeat (a thread
# of the run beats every third of it), at the next tick: within lease + tick, 4 s by default.
DISPATCH_LEASE_SECONDS = env_float("DISPATCH_LEASE_SECONDS", 3.0)
# A run rides out a dropped database connection for this long, retrying in place.
DISPATCH_DB_RETRY_SECONDS = env_float("DISPATCH_DB_RETRY_SECONDS", 60.0)
# A run ends after this long (or when nothing is due) and frees its worker; the tick resumes.
DISPATCH_RUN_SECONDS = env_float("DISPATCH_RUN_SECONDS", 20.0)
# A run that finds nothing due waits this long for more before it ends (a stream of triggered
# messages is then sent by one run, not one run each). 0 ends at once.
DISPATCH_IDLE_SECONDS = env_float("DISPATCH_IDLE_SECONDS", 2.0)
# Rows claimed per query; smaller for slow accounts (about two seconds of their rate).
DISPATCH_BATCH_SIZE = env_int("DISPATCH_BATCH_SIZE", 500)
# Concurrent sends per account (one keep-alive session): about the rate, at most this many.
# Answers 0.2 s away, Messenger's 300/s needs 60 in flight.
DISPATCH_MAX_THREADS = env_int("DISPATCH_MAX_THREADS", 64)
# Platforms reached over HTTP are sent to by one thread driving libcurl's multi interface
# (channels/curl_loop.py); false: a thread per concurrent send, as for the sandbox and e-mail.
DISPATCH_CURL_LOOP = env_bool("DISPATCH_CURL_LOOP", True)
# Slots a little under the platform's limit, so ordinary jitter leaves the pacer's window rule
# (never more than the limit in any second: campaigns/dispatch/pacing.py) idle.
DISPATCH_RATE_HEADROOM = env_float("DISPATCH_RATE_HEADROOM", 0.99)
# Transient failures retry with exponential backoff (base * 2^(attempt-1), jittered, capped).
DISPATCH_MAX_ATTEMPTS = env_int("DISPATCH_MAX_ATTEMPTS", 5)
DISPATCH_BACKOFF_SECONDS = env_float("DISPATCH_BACKOFF_SECONDS", 10.0)
DISPATCH_BACKOFF_MAX_SECONDS = env_float("DISPATCH_BACKOFF_MAX_SECONDS", 900.0)
# A misconfigured account (bad token) pauses this long instead of failing every delivery.
DISPATCH_CONFIG_PAUSE_SECONDS = env_float("DISPATCH_CONFIG_PAUSE_SECONDS", 60.0)
# Rows left claimed/sending by dead owners are recovered by the next owner and by this sweep.
DISPATCH_SWEEP_SECONDS = env_float("DISPATCH_SWEEP_SECONDS", 30.0)
# Each run notes there the rows it starts to send, so rows a killed run never started are sent
# again instead of ending `unknown` (campaigns/dispatch/journal.py). Local to the host.
DISPATCH_JOURNAL_DIR = env_str("DISPATCH_JOURNAL_DIR", str(VAR_DIR / "journal"))
# The Celery queue of the bulk lane (campaigns/dispatch/lanes.py): a campaign's backlog is sent
# by the worker consuming it, run under `nice` (the Procfile's `bulk`), so triggered messages
# and the API keep the CPU first. Empty: one lane, every run in the main worker.
DISPATCH_BULK_QUEUE = env_str("DISPATCH_BULK_QUEUE", "")
# Frequency cap (campaigns/policies.py): marketing messages per customer across campaigns.
MARKETING_CAP_COUNT = env_int("MARKETING_CAP_COUNT", 2)
MARKETING_CAP_DAYS = env_int("MARKETING_CAP_DAYS", 7)

# --- Privacy and security (README, "Privacy and security") -----------------------------------
# The sandbox messenger (/sandbox/, its endpoints, and its account in subscribe links, the
# subscribe page and campaign audiences) is a development and demo tool: off in production.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", DEBUG)
# The key of the hashes an erasure keeps of a person's identifiers (subscriptions/privacy/):
# set it once and keep it, or the consent log can no longer be searched for erased people.
PRIVACY_HASH_KEY = env_str("PRIVACY_HASH_KEY", SECRET_KEY)
# Retention (subscriptions/privacy/retention.py): days each kind is kept; 0 = for ever.
RETAIN_INBOUND_EVENTS_DAYS = env_int("RETAIN_INBOUND_EVENTS_DAYS", 90)
RETAIN_SANDBOX_MESSAGES_DAYS = env_int("RETAIN_SANDBOX_MESSAGES_DAYS", 7)
RETAIN_DELIVERIES_DAYS = env_int("RETAIN_DELIVERIES_DAYS", 400)
RETAIN_LINK_CLICKS_DAYS = env_int("RETAIN_LINK_CLICKS_DAYS", 90)
# Rows per delete (one short transaction each) and how long one purge run may go on.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000)
RETENTION_RUN_SECONDS = env_float("RETENTION_RUN_SECONDS", 60.0)
# Channel secrets (credentials, webhook secrets) are encrypted at rest (channels/encryption.py)
# with these Fernet keys, comma-separated, NEWEST FIRST: the first encrypts, every one decrypts.
# Rotate: prepend a new key, run `manage.py rotate_encryption_key`, then drop the old one.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off: channel credentials are "
            "encrypted with it. Make a key with: python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'"
        )
    # Development only: a key derived from SECRET_KEY, so `make run` needs no setup.
    _digest = hashlib.sha256(f"comeback.field-encryption:{SECRET_KEY}".encode()).digest()
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(_digest).decode()]
for _number, _key in enumerate(FIELD_ENCRYPTION_KEYS, 1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS: key {_number} is not a Fernet key (32 bytes, url-safe base64)"
        ) from None

# --- Hardening (README, "Privacy and security": production settings) -------------------------
# HTTPS only, once the proxy in front terminates TLS (SECURE_PROXY_SSL_HEADER above). Off by
# default so plain-HTTP development and the test client work; the README's production settings
# turn them on, and `manage.py check --deploy` is clean with them.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# A Content-Security-Policy on every answer (django-csp): scripts only from us or with the
# page's nonce, nothing framed except the subscribe page (subscriptions/pages/views.py), no
# plugins. Inline styles stay allowed: pages carry small <style> blocks, and a style cannot run
# code. Images may come from any HTTPS host: campaign content shows the shop's pictures.
INSTALLED_APPS += ["csp", "axes"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")  # fmt: skip
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "https:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Admin login throttled (django-axes): after AXES_FAILURE_LIMIT failures for one user name from
# one address, that pair is locked out for the cool-off (answer 429); a success resets it.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # after authentication, as axes requires
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("ADMIN_LOGIN_COOLOFF_MINUTES", 15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # lockouts are rows in admin (Access attempts); no start-up banner on stdout
# API keys: each key's requests per second (DRF throttling, counted in REDIS_URL's Redis when
# there is one, so all web processes share the count; else per process in the "throttle"
# cache); more answer 429 with Retry-After.
API_KEY_RATE = env_str("API_KEY_RATE", "200/s")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttle",
    },
}
# /api/docs/ and /api/schema/ answer 404 when off (the schema tells an attacker every field).
API_DOCS_ENABLED = env_bool("API_DOCS_ENABLED", True)
