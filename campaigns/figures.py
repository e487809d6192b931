"""A campaign's figures per channel, and per day, computed in the database.

Honest per platform: Telegram sends no delivery or read receipts, VK reports reads but not
deliveries. Where a platform reports no reads there is no open rate; "engaged" (a button press,
a click, an answer or a reply) is shown for every platform and never called an open.

Time to open is read_at - sent_at over the rows read; median and p90 are nearest-rank
percentiles (the value at rank ceil(q * n), PostgreSQL's percentile_disc), one grouped query, so
a million rows are never loaded.
"""

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncDate

from campaigns.models import Attribution, Delivery, SurveyAnswer
from channels.events import EventKind
from channels.models import InboundEvent
from channels.providers import PROVIDERS

# What each platform tells us about a message (PLATFORMS.md): the receipts it sends.
RECEIPTS: dict[str, tuple[str, ...]] = {
    kind: tuple(
        name
        for name, sent in (("delivered", cls.delivery_receipts), ("read", cls.read_receipts))
        if sent
    )
    for kind, cls in PROVIDERS.items()
}
AFTERMATH = dt.timedelta(hours=48)  # unsubscribes, blocks and replies counted after a delivery
# Time-to-open histogram: upper bounds of the buckets (the last is open-ended).
BUCKETS: tuple[tuple[str, dt.timedelta | None], ...] = (
    ("< 5 min", dt.timedelta(minutes=5)),
    ("5-15 min", dt.timedelta(minutes=15)),
    ("15-30 min", dt.timedelta(minutes=30)),
    ("30-60 min", dt.timedelta(hours=1)),
    ("1-3 h", dt.timedelta(hours=3)),
    ("3-12 h", dt.timedelta(hours=12)),
    ("12-24 h", dt.timedelta(hours=24)),
    ("> 24 h", None),
)
OPEN_TIME = ExpressionWrapper(F("read_at") - F("sent_at"), output_field=DurationField())
CLICKED_OR_ANSWERED = Q(clicked_at__isnull=False) | Q(answered_at__isnull=False)
COUNTED = ("sent", "delivered", "read", "clicked", "answered", "clicked_or_answered",
           *(f"b{i}" for i in range(len(BUCKETS))))  # fmt: skip


class PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the nearest-rank percentile, the value at rank ceil(q * n)."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction), output_field=DurationField())


@contextmanager
def without_jit() -> Iterator[None]:
    """Run the figures with PostgreSQL's JIT off: for these one-off aggregates it spent ~2 s
    compiling per query, more than the queries take (bench/stats.py). Also a decorator."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def outcome_rows(deliveries: QuerySet[Delivery]) -> list[dict[str, Any]]:
    """One pass over the deliveries: per channel kind, state and reason, the counts and the
    time-to-open buckets. Every other figure that needs no other table is summed from these."""
    return list(
        deliveries.annotate(open_time=OPEN_TIME)
        .values("account__kind", "state", "reason")
        .annotate(
            sent=Count("pk"),
            delivered=Count("delivered_at"),
            read=Count("read_at"),
            clicked=Count("clicked_at"),
            answered=Count("answered_at"),
            clicked_or_answered=Count("pk", filter=CLICKED_OR_ANSWERED),
            **_buckets(),
        )
        .order_by()
    )


def channel_figures(
    deliveries: QuerySet[Delivery], rows: list[dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per channel kind: counts, rates, time to open and the 48-hour aftermath (`rows`: the
    deliveries' outcome_rows, when the caller has them already)."""
    sent = deliveries.filter(state=Delivery.State.SENT).annotate(open_time=OPEN_TIME)
    after = ExpressionWrapper(OuterRef("sent_at") + Value(AFTERMATH), output_field=DateTimeField())
    replied = InboundEvent.objects.filter(
        account_id=OuterRef("account_id"),
        platform_user_id=OuterRef("subscription__platform_user_id"),
        kind=EventKind.TEXT,
        occurred_at__gt=OuterRef("sent_at"),
        occurred_at__lte=after,
    )
    per_kind: dict[str, dict[str, int]] = {}
    for row in rows if rows is not None else outcome_rows(deliveries):
        if row["state"] != Delivery.State.SENT:
            continue
        counts = per_kind.setdefault(row["account__kind"], {})
        for key in COUNTED:
            counts[key] = counts.get(key, 0) + row[key]
    # Replies and departures are few: each is a semi-join from them to the deliveries. Inside
    # Count(filter=) an Exists runs once per delivery (a million probes; bench/stats.py).
    replies = {
        kind: (n, only)
        for kind, n, only in sent.filter(Exists(replied))
        .values_list("account__kind")
        .annotate(n=Count("pk"), only=Count("pk", filter=~CLICKED_OR_ANSWERED))
        .order_by()
    }
    departed: dict[tuple[str, str], int] = {}
    for kind, status, n in (
        sent.filter(
            subscription__status__in=("unsubscribed", "blocked"),
            subscription__unsubscribed_at__gt=F("sent_at"),
            subscription__unsubscribed_at__lte=ExpressionWrapper(
                F("sent_at") + Value(AFTERMATH), output_field=DateTimeField()
            ),
            # an erasure ends chats; the customer did not leave
            subscription__customer__erased_at__isnull=True,
        )
        .values_list("account__kind", "subscription__status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        departed[kind, status] = n
    times = _open_time_ranks(sent.filter(read_at__isnull=False))
    figures = {}
    for kind in sorted(per_kind):
        row = dict(per_kind[kind])
        reports = RECEIPTS.get(kind, ())
        histogram = {label: row.pop(f"b{i}") for i, (label, _) in enumerate(BUCKETS)}
        replied_n, replied_only = replies.get(kind, (0, 0))
        row.update(
            replied=replied_n,
            engaged=row.pop("clicked_or_answered") + replied_only,
            unsubscribed=departed.get((kind, "unsubscribed"), 0),
            blocked=departed.get((kind, "blocked"), 0),
        )
        figures[kind] = {
            **row,
            "reports": list(reports),
            "delivered": row["delivered"] if "delivered" in reports else None,
            "read": row["read"] if "read" in reports else None,
            "open_rate": _open_rate(row, reports),
            "click_rate": _rate(row["clicked"], row["sent"]),
            "engaged_rate": _rate(row["engaged"], row["sent"]),
            "time_to_open": (
                _open_times(times.get(kind), histogram) if "read" in reports else None
            ),
        }
    return figures


def _open_time_ranks(opened: QuerySet[Delivery]) -> dict[str, tuple]:
    """(median, p90) time to open per channel kind, nearest rank."""
    if connection.vendor == "postgresql":
        return {
            kind: (median, p90)
            for kind, median, p90 in opened.values_list("account__kind")
            .annotate(
                median=PercentileDisc(F("open_time"), 0.5),
                p90=PercentileDisc(F("open_time"), 0.9),
            )
            .order_by()
        }
    # SQLite (the embedded default) has no percentile_disc: the row at that rank, one indexed
    # fetch each, per kind.
    times = {}
    counts = opened.values_list("account__kind").annotate(n=Count("pk")).order_by()
    for kind, n in counts:
        ranked = opened.filter(account__kind=kind).order_by("open_time")
        ranked = ranked.values_list("open_time", flat=True)
        times[kind] = tuple(ranked[max(math.ceil(q * n), 1) - 1] for q in (0.5, 0.9))
    return times


def _buckets() -> dict[str, Count]:
    counts, low = {}, None
    for i, (_, high) in enumerate(BUCKETS):
        where = Q(read_at__isnull=False)
        if low is not None:
            where &= Q(open_time__gte=low)
        if high is not None:
            where &= Q(open_time__lt=high)
        counts[f"b{i}"] = Count("pk", filter=where)
        low = high
    return counts


def _open_rate(row: dict, reports: tuple[str, ...]) -> float | None:
    """Reads over delivered; over sent where the platform reports reads but not deliveries."""
    if "read" not in reports:
        return None
    base = row["delivered"] if "delivered" in reports else row["sent"]
    return _rate(row["read"], base)


def _open_times(times: tuple | None, histogram: dict) -> dict[str, Any]:
    median, p90 = times or (None, None)
    return {
        "median_seconds": median.total_seconds() if median is not None else None,
        "p90_seconds": p90.total_seconds() if p90 is not None else None,
        "histogram": histogram,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def attributed_revenue(deliveries: QuerySet[Delivery]) -> list[dict[str, Any]]:
    """Attributed orders and revenue per currency: totals in different currencies never add."""
    rows = (
        Attribution.objects.filter(delivery__in=deliveries)
        .values("order__currency")
        .annotate(orders=Count("pk"), revenue=Sum("order__total"))
        .order_by("order__currency")
    )
    return [
        {
            "currency": row["order__currency"],
            "orders": row["orders"],
            "revenue": str(row["revenue"]),
        }
        for row in rows
    ]


def survey_figures(deliveries: QuerySet[Delivery], sent: int | None = None) -> dict[str, Any]:
    if sent is None:
        sent = deliveries.filter(state=Delivery.State.SENT).count()
    answers = SurveyAnswer.objects.filter(delivery__in=deliveries, score__isnull=False)
    scores = dict(answers.values_list("score").annotate(n=Count("pk")).order_by())
    answered = sum(scores.values())
    return {
        "answers": answered,
        "response_rate": _rate(answered, sent),
        "scores": {str(score): scores.get(score, 0) for score in range(1, 6)},
    }


def per_day(deliveries: QuerySet[Delivery]) -> list[dict[str, Any]]:
    """Sent, read, clicked and answered per day of sending."""
    rows = (
        deliveries.filter(state=Delivery.State.SENT, sent_at__isnull=False)
        .annotate(day=TruncDate("sent_at"))
        .values("day")
        .annotate(
            sent=Count("pk"),
            read=Count("read_at"),
            clicked=Count("clicked_at"),
            answered=Count("answered_at"),
        )
        .order_by("day")
    )
    return [{**row, "day": row["day"].isoformat()} for row in rows]
