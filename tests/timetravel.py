"""Time travel for tests: move Django's clock, in this process or in real worker processes.

The engine reads the time of day only through `django.utils.timezone.now`, always as an
attribute of the module (`timezone.now()`), so replacing that one function moves every caller,
sender threads included. Pacing, heartbeats and run deadlines use `time.monotonic` and keep
real speed. A travelled clock keeps ticking: it is the real clock plus an offset, so the
engine's waits and the test's timeouts mean what they say.

- In this process: `with travel(moment): ...`.
- In worker processes: `machine = TimeMachine(path)`, start them with `machine.env()` (their
  settings module, tests/timetravel_settings.py, installs a clock that reads its offset from
  the file), then `machine.travel(moment)` moves them while they run.
"""

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from django.utils import timezone

CLOCK_FILE = "COMEBACK_TEST_CLOCK_FILE"  # env: the file holding the offset, in seconds
SETTINGS = "tests.timetravel_settings"


def _clock(offset: Callable[[], float]) -> Callable[[], dt.datetime]:
    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(time.time() + offset(), tz=dt.UTC)

    return now


@contextmanager
def travel(moment: dt.datetime) -> Iterator[None]:
    """Inside the block this process's clock reads `moment`, then runs on from there."""
    offset = moment.timestamp() - time.time()
    with mock.patch.object(timezone, "now", _clock(lambda: offset)):
        yield


class TimeMachine:
    """The clock of the worker processes started with `env()`; the test moves it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self._write()

    def env(self) -> dict[str, str]:
        return {"DJANGO_SETTINGS_MODULE": SETTINGS, CLOCK_FILE: str(self.path)}

    def travel(self, moment: dt.datetime) -> None:
        """From now on the workers' clock reads `moment`, then runs on from there."""
        self.offset = moment.timestamp() - time.time()
        self._write()

    def at(self, real_time: float) -> dt.datetime:
        """What the workers' clock read at `real_time` (a unix time, e.g. a fake's received_at)
        since the last travel."""
        return dt.datetime.fromtimestamp(real_time + self.offset, tz=dt.UTC)

    def _write(self) -> None:
        # Write and rename: a worker reading at that moment sees the old offset or the new one.
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(repr(self.offset))
        os.replace(scratch, self.path)


class _OffsetFile:
    """The offset in the clock file, re-read only when the file was replaced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp: tuple[int, int] | None = None
        self.offset = 0.0

    def __call__(self) -> float:
        stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self.stamp:
            self.offset = float(self.path.read_text())
            self.stamp = stamp
        return self.offset


def install_from_env() -> None:
    """In a worker process: run Django's clock from the clock file named in the environment.

    Called from the settings module, so before any model is imported: fields declared with
    `default=timezone.now` pick up the travelled clock too.
    """
    path = os.environ.get(CLOCK_FILE)
    if path:
        timezone.now = _clock(_OffsetFile(Path(path)))
