"""The global holdout: a stable share of customers who never get marketing, so the whole
programme's effect can be measured over months, not just one campaign's.

Membership is md5(GLOBAL_HOLDOUT_SALT ":" customer id): the first 32 bits as a fraction of 2**32,
below GLOBAL_HOLDOUT_PERCENT / 100. md5 because PostgreSQL computes the same value
(`in_global_holdout_sql`), so the reach panel and the programme's uplift pick the members in
SQL without reading customers into Python. The salt keeps the members unrelated to each
campaign's own holdout (policies.held_out); changing it reshuffles them and restarts the
measurement. Enforced at send time in campaigns/policies.py, beside the campaign's holdout.

Programme uplift is intention to treat: among customers subscribed before the period began,
the share who ordered during it, outside the holdout vs inside. Assignment is by hash, so the
groups differ only by the messages (not by who happened to be sent one).
"""

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from campaigns.uplift import uplift
from subscriptions.models import Customer, Order, Subscription

GLOBAL_HOLDOUT = "global holdout"  # the reason a skipped delivery records


def in_global_holdout(customer_id: int) -> bool:
    """Whether this customer is kept out of all marketing."""
    percent = settings.GLOBAL_HOLDOUT_PERCENT
    if percent <= 0:
        return False
    digest = hashlib.md5(f"{settings.GLOBAL_HOLDOUT_SALT}:{customer_id}".encode()).hexdigest()  # noqa: S324 - a bucket, not a secret
    return int(digest[:8], 16) / 2**32 * 100 < percent


def in_global_holdout_sql(column: str) -> tuple[str, list[Any]]:
    """The same test in SQL over an integer customer-id column: (sql, params)."""
    percent = settings.GLOBAL_HOLDOUT_PERCENT
    if percent <= 0:
        return "FALSE", []
    sql = (
        f"(('x' || substr(md5(%s || ':' || {column}::text), 1, 8))::bit(32)::bigint"
        " / 4294967296.0 * 100 < %s)"
    )
    return sql, [settings.GLOBAL_HOLDOUT_SALT, percent]


def programme_uplift(*, since: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    """Ordered in (since, now]: customers subscribed before `since`, outside vs inside the
    global holdout, with Newcombe's interval and a verdict (campaigns/uplift.py)."""
    sql, params = in_global_holdout_sql("subscriptions_customer.id")
    held = RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - constant SQL, values as params
    ordered = Exists(
        Order.objects.filter(
            customer_id=OuterRef("pk"), placed_at__gt=since, placed_at__lte=now
        ).exclude(status=Order.Status.CANCELLED)
    )
    subscribed = Exists(
        Subscription.objects.filter(customer_id=OuterRef("pk"), subscribed_at__lte=since)
    )
    counts = (
        Customer.objects.filter(subscribed, erased_at__isnull=True)
        .annotate(held=held, ordered=ordered)
        .aggregate(
            sent=Count("pk", filter=Q(held=False)),
            sent_repeat=Count("pk", filter=Q(held=False, ordered=True)),
            holdout=Count("pk", filter=Q(held=True)),
            holdout_repeat=Count("pk", filter=Q(held=True, ordered=True)),
        )
    )
    result = {
        "percent": settings.GLOBAL_HOLDOUT_PERCENT,
        "messaged": _group(counts["sent"], counts["sent_repeat"]),
        "holdout": _group(counts["holdout"], counts["holdout_repeat"]),
    }
    measured = uplift(
        counts["sent"], counts["sent_repeat"], counts["holdout"], counts["holdout_repeat"]
    )
    figures = {**result, **measured.as_dict()}
    if not counts["holdout"]:  # uplift() speaks of a campaign; say what is missing here
        figures["verdict"] = "not measurable: nobody is in the global holdout yet"
    elif not counts["sent"]:
        figures["verdict"] = "not measurable: every subscriber is in the global holdout"
    return figures


def _group(members: int, repeat: int) -> dict[str, Any]:
    rate = round(100 * repeat / members, 2) if members else None
    return {"members": members, "repeat_buyers": repeat, "repeat_rate": rate}
