"""The whole programme over the last days: every campaign's deliveries together.

"holdout" compares everyone sent a message in the period with everyone held out of one (each
campaign's holdout), the same way a campaign's does. "global_holdout" measures the programme as
a whole: subscribers outside the global holdout vs inside it (campaigns/holdout.py).
"""

import datetime as dt
from typing import Any

from django.utils import timezone

from campaigns.figures import (
    attributed_revenue,
    channel_figures,
    outcome_rows,
    per_day,
    survey_figures,
    without_jit,
)
from campaigns.holdout import programme_uplift
from campaigns.models import Delivery
from campaigns.stats import HOLDOUT, holdout_comparison

DEFAULT_DAYS = 30
MAX_DAYS = 366


@without_jit()
def programme_stats(*, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> dict[str, Any]:
    """Figures of every delivery due in the last `days` days."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    deliveries = Delivery.objects.filter(due_at__gt=since, due_at__lte=now)
    rows = outcome_rows(deliveries)  # one pass for every count (campaigns/stats.py does too)
    sent = sum(row["sent"] for row in rows if row["state"] == Delivery.State.SENT)
    held = sum(
        row["sent"]
        for row in rows
        if row["state"] == Delivery.State.SKIPPED and row["reason"] == HOLDOUT
    )
    return {
        "days": days,
        "since": since.isoformat(),
        "campaigns": deliveries.values("campaign_id").distinct().count(),
        "channels": channel_figures(deliveries, rows),
        "survey": survey_figures(deliveries, sent=sent),
        "attributed_by_currency": attributed_revenue(deliveries),
        "holdout": holdout_comparison(deliveries, {"sent": sent, "holdout": held}),
        "global_holdout": programme_uplift(since=since, now=now),
        "per_day": per_day(deliveries),
    }
