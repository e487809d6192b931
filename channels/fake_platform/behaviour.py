"""Behaviour configuration: rate limits, blocked recipients, injected 5xx, delays, error answers.

Not thread-safe by itself: FakePlatform serialises every access behind one lock, shared by the
loop thread (answering requests) and test threads (configuring).
"""

import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from .base import check_platform

WINDOW = 1.0  # seconds; the rate limit is "at most N accepted calls in any 1-second window"


@dataclass(slots=True)
class _Rule:
    value: float  # HTTP status for faults, seconds for delays
    remaining: int | None  # None: until reset


def _check_count(count: int | None) -> None:
    if count is not None and count < 0:
        raise ValueError("count must be None (until reset) or >= 0")


class Behaviour:
    def __init__(self) -> None:
        self.limits: dict[str, int] = {}
        self._windows: dict[str, deque[float]] = {}
        self.blocked: set[tuple[str | None, str]] = set()
        self._faults: dict[str | None, _Rule] = {}
        self._delays: dict[str | None, _Rule] = {}
        self._errors: dict[str, deque[tuple[int, Any]]] = {}
        # Share of platform calls whose connection is cut after the call was handled and
        # recorded, before any answer: the platform did it, the client cannot know.
        self.drop_fraction = 0.0
        self._drop_dice = random.Random()

    def reset(self) -> None:
        self.drop_fraction = 0.0
        for table in (
            self.limits,
            self._windows,
            self.blocked,
            self._faults,
            self._delays,
            self._errors,
        ):
            table.clear()

    def clear_windows(self) -> None:
        """Forget who sent when (a counter), keeping the limits themselves (config)."""
        self._windows.clear()

    # Rate limits -----------------------------------------------------------------------------
    def set_rate_limit(self, token: str, per_second: int | None) -> None:
        if per_second is None:
            self.limits.pop(token, None)
            self._windows.pop(token, None)
            return
        if per_second < 1:
            raise ValueError("per_second must be >= 1 (or None to remove the limit)")
        self.limits[token] = int(per_second)

    def admit(self, token: str, now: float) -> int | None:
        """Count a call against `token`; return retry-after seconds if it is over the limit.

        A sliding log of accepted calls: refused calls are not logged, so a client that backs
        off as told gets through as soon as the oldest accepted call leaves the window.
        """
        limit = self.limits.get(token)
        if limit is None:
            return None
        window = self._windows.setdefault(token, deque())
        while window and window[0] <= now - WINDOW:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(window[0] + WINDOW - now))
        window.append(now)
        return None

    # Blocked recipients ----------------------------------------------------------------------
    def block(self, recipient: str, platform: str | None = None) -> None:
        check_platform(platform)
        self.blocked.add((platform, str(recipient)))

    def is_blocked(self, platform: str, recipient: str) -> bool:
        if not recipient or not self.blocked:
            return False
        return (None, recipient) in self.blocked or (platform, recipient) in self.blocked

    # Injected 5xx, delays and exact error answers ---------------------------------------------
    def fail(self, status: int, count: int | None, platform: str | None) -> None:
        check_platform(platform)
        _check_count(count)
        if not 500 <= status <= 599:
            raise ValueError("fail() injects server errors: status must be 5xx")
        _set_rule(self._faults, platform, _Rule(status, count))

    def slow(self, seconds: float, count: int | None, platform: str | None) -> None:
        check_platform(platform)
        _check_count(count)
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        _set_rule(self._delays, platform, _Rule(seconds, count))

    def error(self, platform: str, body: Any, status: int) -> None:
        check_platform(platform)
        if not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        self._errors.setdefault(platform, deque()).append((status, body))

    def drop(self, fraction: float, seed: int | None = None) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        self.drop_fraction = float(fraction)
        self._drop_dice.seed(seed)

    def take_drop(self) -> bool:
        return self.drop_fraction > 0 and self._drop_dice.random() < self.drop_fraction

    def take_fault(self, platform: str) -> int | None:
        rule = _take(self._faults, platform)
        return None if rule is None else int(rule)

    def take_delay(self, platform: str) -> float:
        return _take(self._delays, platform) or 0.0

    def take_error(self, platform: str) -> tuple[int, Any] | None:
        queue = self._errors.get(platform)
        return queue.popleft() if queue else None

    def snapshot(self) -> dict[str, Any]:
        """The configuration as JSON-ready data (GET /_fake/config)."""

        def rules(table: dict[str | None, _Rule], key: str) -> list[dict[str, Any]]:
            return [{"platform": p, key: r.value, "count": r.remaining} for p, r in table.items()]

        return {
            "rate_limit": dict(self.limits),
            "block": [{"platform": p, "recipient": r} for p, r in sorted(self.blocked, key=str)],
            "fail": rules(self._faults, "status"),
            "slow": rules(self._delays, "seconds"),
            "drop": {"fraction": self.drop_fraction},
            "error": [
                {"platform": p, "status": s, "body": b}
                for p, queue in self._errors.items()
                for s, b in queue
            ],
        }


def _set_rule(table: dict[str | None, _Rule], platform: str | None, rule: _Rule) -> None:
    # A new rule replaces the previous one of the same scope, so fail(count=2) always means
    # "exactly the next two"; count=0 cancels.
    if rule.remaining == 0:
        table.pop(platform, None)
    else:
        table[platform] = rule


def _take(table: dict[str | None, _Rule], platform: str) -> float | None:
    """Use up one application of the most specific matching rule."""
    if not table:
        return None
    key: str | None = platform if platform in table else None
    rule = table.get(key)
    if rule is None:
        return None
    if rule.remaining is not None:
        rule.remaining -= 1
        if rule.remaining <= 0:
            del table[key]
    return rule.value
