"""Recorded platform requests and the counters behind GET /_fake/stats.

Not thread-safe by itself; FakePlatform's lock guards it (see behaviour.py).
"""

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request that hit a platform route (control routes are never recorded).

    `answered` is the HTTP status sent, except that Viber's status 12 and VK's error 6 flood
    answers travel as HTTP 200 but are recorded as 429, so throttling counts the same everywhere.
    """

    platform: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    form: dict[str, str] | None
    token: str
    recipient: str
    kind: str
    received_at: float
    answered: int
    deduplicated: bool = False  # VK: a repeated random_id answered with the first message id
    dropped: bool = False  # handled, then the connection was cut before the answer (drop)
    seq: int = 0  # position since the last clear(); GET /_fake/requests?after=<seq> pages on it

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form for the control API (the body as text)."""
        data = asdict(self)
        data["body"] = self.body.decode("utf-8", "replace")
        return data


class Recorder:
    """Keeps records in arrival order; with `max_records`, only the newest (stats stay exact).

    A record costs about 2 KB, so a long benchmark at thousands of sends a second needs a cap.
    """

    def __init__(self, max_records: int | None = None) -> None:
        if max_records is not None and max_records < 1:
            raise ValueError("max_records must be None (unbounded) or >= 1")
        self._max = max_records
        self._items: list[RecordedRequest] = []
        self._dropped = 0  # records trimmed off the front since the last clear()
        self._counts: Counter[tuple[str, int]] = Counter()
        self._deduplicated = 0

    def add(self, **fields: Any) -> RecordedRequest:
        """Record one request; `fields` are RecordedRequest's, except seq (assigned here)."""
        record = RecordedRequest(**fields, seq=self._dropped + len(self._items) + 1)
        self._items.append(record)
        self._counts[record.platform, record.answered] += 1
        self._deduplicated += record.deduplicated
        if self._max is not None and len(self._items) > self._max + self._max // 10:
            # Trim in batches: deleting from the front of a list is O(n).
            excess = len(self._items) - self._max
            del self._items[:excess]
            self._dropped += excess
        return record

    def clear(self) -> None:
        self._items.clear()
        self._dropped = 0
        self._counts.clear()
        self._deduplicated = 0

    def select(
        self, platform: str | None = None, since: float | None = None, after: int | None = None
    ) -> list[RecordedRequest]:
        """Records in arrival order, optionally filtered by platform, time and sequence."""
        items = self._items[max(0, after - self._dropped) :] if after else self._items
        return [
            r
            for r in items
            if (platform is None or r.platform == platform)
            and (since is None or r.received_at >= since)
        ]

    def stats(self) -> dict[str, Any]:
        by_platform: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        table: dict[str, dict[str, int]] = {}
        for (platform, status), n in sorted(self._counts.items()):
            by_platform[platform] += n
            by_status[str(status)] += n
            table.setdefault(platform, {})[str(status)] = n
        return {
            "total": sum(by_platform.values()),
            "by_platform": dict(by_platform),
            "by_status": dict(by_status),
            "by_platform_status": table,
            "deduplicated": self._deduplicated,
        }
