"""Rows read on every request, remembered a few seconds per process.

An API key or a channel account is looked up by every request that names it, and changes
rarely: one query each time was a large part of a request's cost. A change made in this process
clears the memo at once (connect `forget` to the model's post_save and post_delete); one made in
another process is seen here within `seconds`.
"""

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class RecentRows(Generic[T]):
    def __init__(self, seconds: float, limit: int = 1000):
        self.seconds = seconds
        self.limit = limit
        self._rows: dict[Hashable, tuple[T, float]] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value remembered for `key` if it is recent, else `load()`'s (remembered)."""
        now = time.monotonic()
        remembered = self._rows.get(key)
        if remembered is not None and now - remembered[1] < self.seconds:
            return remembered[0]
        value = load()
        if len(self._rows) >= self.limit:  # only a flood of made-up names gets here
            self._rows.clear()
        self._rows[key] = (value, now)
        return value

    def forget(self, **_: object) -> None:
        """Drop everything remembered (a signal receiver: it takes the signal's arguments)."""
        self._rows.clear()
