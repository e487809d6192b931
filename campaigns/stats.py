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
    Avg,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    QuerySet,
    Sum,
    Value,
)

from campaigns.models import Attribution, Campaign, Delivery, SurveyAnswer
from subscriptions.models import Order

HOLDOUT = "holdout"


def campaign_stats(campaign: Campaign) -> dict[str, Any]:
    """Every figure of the stats endpoint and the admin change page."""
    deliveries = Delivery.objects.filter(campaign=campaign)
    by_state = dict(deliveries.values_list("state").annotate(n=Count("pk")).order_by())
    by_reason = dict(
        deliveries.exclude(reason="").values_list("reason").annotate(n=Count("pk")).order_by()
    )
    # Per channel both ways, like the totals: "skipped 40" says little without "window closed".
    per_channel: dict[str, dict[str, dict[str, int]]] = {}
    rows = (
        deliveries.values_list("account__kind", "state", "reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for kind, state, reason, n in rows:
        channel = per_channel.setdefault(kind, {"by_state": {}, "by_reason": {}})
        channel["by_state"][state] = channel["by_state"].get(state, 0) + n
        if reason:
            channel["by_reason"][reason] = channel["by_reason"].get(reason, 0) + n
    engagement = deliveries.aggregate(
        total=Count("pk"),
        delivered=Count("delivered_at"),
        read=Count("read_at"),
        clicked=Count("clicked_at"),
        answered=Count("answered_at"),
    )
    answers = SurveyAnswer.objects.filter(delivery__campaign=campaign, score__isnull=False)
    survey = answers.aggregate(answers=Count("pk"), average=Avg("score"))
    survey["scores"] = dict(answers.values_list("score").annotate(n=Count("pk")).order_by())
    if survey["average"] is not None:
        survey["average"] = round(float(survey["average"]), 2)
    attributed = Attribution.objects.filter(delivery__campaign=campaign)
    revenue = attributed.aggregate(total=Sum("order__total"))["total"]
    return {
        "by_state": by_state,
        "by_reason": by_reason,
        "per_channel": per_channel,
        **engagement,
        "survey": survey,
        "attributed_orders": attributed.count(),
        "attributed_revenue": str(revenue) if revenue is not None else "0",
        "holdout": holdout_comparison(deliveries),
    }


def holdout_comparison(deliveries: QuerySet[Delivery]) -> dict[str, Any]:
    """Repeat-purchase rate of sent vs holdout and the difference (uplift, in points)."""
    window = dt.timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)
    window_end = ExpressionWrapper(OuterRef("due_at") + Value(window), output_field=DateTimeField())
    bought = Order.objects.filter(
        customer_id=OuterRef("subscription__customer_id"),
        placed_at__gt=OuterRef("due_at"),
        placed_at__lte=window_end,
    ).exclude(status=Order.Status.CANCELLED)
    groups = {
        "sent": deliveries.filter(state=Delivery.State.SENT),
        "holdout": deliveries.filter(state=Delivery.State.SKIPPED, reason=HOLDOUT),
    }
    result: dict[str, Any] = {}
    for name, group in groups.items():
        counts = group.aggregate(
            members=Count("pk"),
            repeat=Count("pk", filter=Exists(bought)),
        )
        members, repeat = counts["members"], counts["repeat"]
        rate = round(100 * repeat / members, 2) if members else None
        result[name] = {"members": members, "repeat_buyers": repeat, "repeat_rate": rate}
    sent, held = result["sent"]["repeat_rate"], result["holdout"]["repeat_rate"]
    result["uplift_points"] = round(sent - held, 2) if None not in (sent, held) else None
    return result
