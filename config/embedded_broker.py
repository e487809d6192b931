"""The embedded default's broker: kombu's SQLAlchemy transport on a SQLite file in var/.

kombu creates its two tables on first use. What it does not do, we do here: put the file in WAL
mode (readers never wait for the writer), answer /healthz, and delete the messages it has
handed out, which the transport only marks invisible and would keep for ever.
"""

import os
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy

# A message taken longer ago than this has long been acked or restored by its consumer
# (kombu keeps unacked payloads in the consumer's memory, not in the row).
PRUNE_AFTER = timedelta(minutes=5)


SCHEME = "embedded+sqlite:///"


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self):  # kombu hook
        # kombu hands every transport option to create_engine, which refuses ours.
        options = self.connection.client.transport_options
        options.pop("polling_interval", None)
        return super()._engine_from_config()


class Transport(kombu_sqlalchemy.Transport):
    """kombu's SQLAlchemy transport, polling an empty queue every EMBEDDED_BROKER_POLL_SECONDS
    (its default, a second, is the latency every task would wait on the embedded default)."""

    Channel = Channel
    polling_interval = float(os.environ.get("EMBEDDED_BROKER_POLL_SECONDS") or 0.1)


# The URL's scheme names the transport: `embedded` is ours (every process imports this module
# through config/settings.py before Celery connects).
TRANSPORT_ALIASES["embedded"] = f"{__name__}:Transport"


def url_for(path: Path) -> str:
    return f"{SCHEME}{path}"


def is_embedded(broker_url: str) -> bool:
    return broker_url.startswith(SCHEME)


def path_of(broker_url: str) -> Path:
    return Path(broker_url.removeprefix(SCHEME))


def prepare(path: Path) -> None:
    """Create the file in WAL mode (a property of the file, kept from then on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def state(path: Path) -> dict:
    """For /healthz: the file answers, and how many messages wait."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)) as db:
            waiting = _waiting(db)
        return {"backend": "sqlite", "ok": True, "waiting": waiting}
    except sqlite3.Error as exc:
        return {"backend": "sqlite", "ok": False, "error": str(exc)[:200]}


def prune(path: Path, *, now: datetime | None = None) -> int:
    """Delete messages handed out more than PRUNE_AFTER ago; returns how many."""
    # kombu stamps `timestamp` with the local naive time when it hides a message.
    cutoff = (now or datetime.now()) - PRUNE_AFTER
    with closing(sqlite3.connect(path, timeout=30)) as db:
        if not _has_messages_table(db):
            return 0
        with db:
            cursor = db.execute(
                "DELETE FROM kombu_message WHERE visible = 0 AND timestamp < ?",
                (cutoff.isoformat(sep=" "),),
            )
        return cursor.rowcount


def _waiting(db: sqlite3.Connection) -> int:
    if not _has_messages_table(db):
        return 0
    return db.execute("SELECT count(*) FROM kombu_message WHERE visible = 1").fetchone()[0]


def _has_messages_table(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'kombu_message'").fetchone()
    return found is not None
