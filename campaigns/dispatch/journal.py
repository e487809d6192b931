"""The send journal: which `sending` rows a dead dispatcher had started to write.

A row is committed `sending` before its request goes, and a killed dispatcher leaves every such
row behind; some were on the wire, most were still waiting for a free thread. Without more, all
of them must become `unknown` and the customers waiting in the queue silently miss the message.
So each run appends a row's id to a file of its own just before writing its request (one
`write` to an O_APPEND file: a killed process loses nothing it wrote, the kernel has it), and
deletes the file when the run ends. Whoever recovers the rows of an owner that ran on this host,
whose process is gone and whose file is there, knows exactly which never left: those are due
again. The rest, and every row of an owner elsewhere or possibly alive, stay `unknown`.
"""

import logging
import os
import re
import socket
import threading
import time
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)
# Journals of processes that died with nothing left to recover: removed after this long.
STALE_SECONDS = 3600


def _path(owner: str) -> Path:
    return Path(settings.DISPATCH_JOURNAL_DIR) / f"{re.sub(r'[^A-Za-z0-9_.:-]', '_', owner)}.log"


class Journal:
    """One run's journal; `leaving(id)` from any sending thread, `close()` when the run ends."""

    def __init__(self, owner: str) -> None:
        self.path = _path(owner)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def leaving(self, delivery_id: int) -> None:
        if self._fd is None:
            with self._lock:  # opened on the first send: a run that sends nothing writes nothing
                if self._fd is None:
                    self._open()
        if self._fd is not None and self._fd >= 0:
            os.write(self._fd, b"%d\n" % delivery_id)  # one write: appends whole under O_APPEND

    def close(self) -> None:
        if self._fd is not None and self._fd >= 0:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
        self._fd = None

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            # No journal: this run's rows become `unknown` if it dies, as without one.
            log.warning("send journal %s not writable: %s", self.path, error)
            self._fd = -1


def never_left(owner: str, delivery_ids: list[int]) -> set[int] | None:
    """Of the rows `owner` left `sending`, those it certainly never started to write; None when
    that cannot be known (the owner ran elsewhere, may still be alive, or kept no journal)."""
    path = _path(owner)
    if not _dead_here(owner) or not path.exists():
        return None
    started = {int(line) for line in path.read_bytes().split() if line.isdigit()}
    return set(delivery_ids) - started


def forget(owner: str) -> None:
    """The owner's rows are recovered: its journal has told all it can."""
    _path(owner).unlink(missing_ok=True)


def prune() -> int:
    """Remove journals of dead local processes older than STALE_SECONDS; how many."""
    directory = Path(settings.DISPATCH_JOURNAL_DIR)
    if not directory.is_dir():
        return 0
    removed = 0
    for path in directory.glob("*.log"):
        try:
            old = time.time() - path.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if old and _dead_here(path.stem):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _dead_here(owner: str) -> bool:
    """Whether the owner (new_owner(): "[prefix]host:pid:uuid") ran on this host and its process
    is gone. A reused pid looks alive: then we do not know, which is the safe answer."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid = parts[0].rsplit(":", 1)[-1], int(parts[1])  # after a prefix such as "sweep:"
    if host != socket.gethostname()[:40] or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
