"""A campaign's figures: outcomes, engagement, survey scores, attributed orders and uplift.

Uplift compares the repeat-purchase rate of customers who were sent the message with that of
the holdout (deliveries skipped with reason "holdout": chosen deterministically, never sent).
A repeat purchase is an order placed within ATTRIBUTION_WINDOW_DAYS after the delivery's due
time, measured the same way for both groups.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from campaigns.figures import (
    attributed_revenue,
    channel_figures,
    outcome_rows,
    per_day,
    survey_figures,
    without_jit,
)
from campaigns.models import Campaign, Delivery
from campaigns.uplift import uplift
from subscriptions.models import Order

HOLDOUT = "holdout"


@without_jit()
def campaign_stats(campaign: Campaign) -> dict[str, Any]:
    """Every figure of the stats endpoint and the admin change page."""
    deliveries = Delivery.objects.filter(campaign=campaign)
    # One pass over the deliveries for every count; the other queries read other tables or
    # only the rows they need (bench/stats.py: a million deliveries).
    rows = outcome_rows(deliveries)
    by_state: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    # Per channel both ways, like the totals: "skipped 40" says little without "window closed".
    per_channel: dict[str, dict[str, dict[str, int]]] = {}
    engagement = dict.fromkeys(("total", "delivered", "read", "clicked", "answered"), 0)
    for row in rows:
        kind, state, reason, n = row["account__kind"], row["state"], row["reason"], row["sent"]
        channel = per_channel.setdefault(kind, {"by_state": {}, "by_reason": {}})
        channel["by_state"][state] = channel["by_state"].get(state, 0) + n
        by_state[state] = by_state.get(state, 0) + n
        if reason:
            channel["by_reason"][reason] = channel["by_reason"].get(reason, 0) + n
            by_reason[reason] = by_reason.get(reason, 0) + n
        engagement["total"] += n
        for key in ("delivered", "read", "clicked", "answered"):
            engagement[key] += row[key]
    survey = survey_figures(deliveries, sent=by_state.get(Delivery.State.SENT, 0))
    scored = sum(int(score) * n for score, n in survey["scores"].items())
    survey["average"] = round(scored / survey["answers"], 2) if survey["answers"] else None
    held = sum(
        row["sent"]
        for row in rows
        if row["state"] == Delivery.State.SKIPPED and row["reason"] == HOLDOUT
    )
    members = {"sent": by_state.get(Delivery.State.SENT, 0), "holdout": held}
    by_currency = attributed_revenue(deliveries)
    return {
        "by_state": by_state,
        "by_reason": by_reason,
        "per_channel": per_channel,
        **engagement,
        "channels": channel_figures(deliveries, rows),
        "survey": survey,
        "attributed_orders": sum(row["orders"] for row in by_currency),
        # One currency: its revenue; several never add up (see attributed_by_currency).
        "attributed_revenue": by_currency[0]["revenue"] if len(by_currency) == 1 else None,
        "attributed_by_currency": by_currency,
        "holdout": holdout_comparison(deliveries, members),
        "per_day": per_day(deliveries),
    }


def holdout_comparison(
    deliveries: QuerySet[Delivery], members: dict[str, int] | None = None
) -> dict[str, Any]:
    """Repeat-purchase rate of sent vs holdout and the difference (uplift, in points)."""
    window = dt.timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)
    window_end = ExpressionWrapper(OuterRef("due_at") + Value(window), output_field=DateTimeField())
    bought = Order.objects.filter(
        customer_id=OuterRef("subscription__customer_id"),
        placed_at__gt=OuterRef("due_at"),
        placed_at__lte=window_end,
    ).exclude(status=Order.Status.CANCELLED)
    is_sent = Q(state=Delivery.State.SENT)
    both = deliveries.filter(is_sent | Q(state=Delivery.State.SKIPPED, reason=HOLDOUT))
    split = {"sent": Count("pk", filter=is_sent), "holdout": Count("pk", filter=~is_sent)}
    if members is None:
        members = both.aggregate(**split)
    # Exists in WHERE is a semi-join; inside Count(filter=) it would run once per delivery.
    repeat = both.filter(Exists(bought)).aggregate(**split)
    result: dict[str, Any] = {}
    for name in ("sent", "holdout"):
        rate = round(100 * repeat[name] / members[name], 2) if members[name] else None
        result[name] = {
            "members": members[name],
            "repeat_buyers": repeat[name],
            "repeat_rate": rate,
        }
    sent, held = result["sent"], result["holdout"]
    measured = uplift(
        sent["members"], sent["repeat_buyers"], held["members"], held["repeat_buyers"]
    )
    return {**result, **measured.as_dict()}
