"""GET /api/v1/stats/: the whole programme over the last `days` days, as on the admin dashboard.

Sections are computed by their own modules; this view only puts them side by side, so a new
section (the subscribe funnel, subscriptions/) is one entry in `sections()`.
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.programme import DEFAULT_DAYS, MAX_DAYS
from campaigns.stats_snapshot import programme_stats_snapshot
from subscriptions import funnel
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors


class ProgrammeStatsIn(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS)


class ProgrammeStatsOut(serializers.Serializer):
    """Documentation shape of GET /stats/."""

    days = serializers.IntegerField()
    since = serializers.DateTimeField(help_text="Deliveries due after this moment count.")
    campaigns = serializers.IntegerField(help_text="Campaigns with a delivery in the period.")
    channels = serializers.DictField(
        child=serializers.DictField(),
        help_text="Per channel kind, as in GET /campaigns/{id}/stats/ `channels`: sent, "
        "delivered and read (null where the platform does not report them: Telegram reports "
        "neither, VK no deliveries), open_rate, time_to_open {median_seconds, p90_seconds, "
        "histogram}, clicked, click_rate, answered, replied, engaged, engaged_rate, "
        "unsubscribed and blocked within 48 h, reports (the receipts the platform sends).",
    )
    survey = serializers.DictField(help_text="answers, response_rate (% of sent), scores")
    attributed_by_currency = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{currency, orders, revenue}]: never summed across currencies.",
    )
    holdout = serializers.DictField(
        help_text="Sent vs each campaign's holdout, pooled: sent / holdout {members, "
        "repeat_buyers, repeat_rate}, uplift_points, ci95_points, method, verdict."
    )
    global_holdout = serializers.DictField(
        help_text="The programme vs the global holdout (GLOBAL_HOLDOUT_PERCENT of customers "
        "never get marketing): customers subscribed before the period, messaged {members, "
        "repeat_buyers (ordered in the period), repeat_rate} / holdout {...}, percent, "
        "uplift_points, ci95_points, method, verdict."
    )
    per_day = serializers.ListField(
        child=serializers.DictField(), help_text="[{day, sent, read, clicked, answered}]"
    )
    funnel = serializers.DictField(help_text=funnel.HELP)
    computed_at = serializers.DateTimeField(
        help_text="When the figures other than `funnel` were computed: the default period is "
        "kept by a worker every couple of minutes, another is computed on the first request "
        "and kept for STATS_SNAPSHOT_MAX_AGE seconds."
    )


def sections(*, days: int) -> dict[str, Any]:
    """Every section of the programme's figures for the last `days` days."""
    return {**programme_stats_snapshot(days=days), "funnel": funnel.funnel_figures(days=days)}


EXAMPLE = {
    "days": 30,
    "since": "2026-11-05T12:00:00+00:00",
    "campaigns": 2,
    "channels": {
        "telegram": {
            "sent": 1200, "delivered": None, "read": None, "clicked": 96, "answered": 41,
            "replied": 12, "engaged": 131, "unsubscribed": 3, "blocked": 5, "reports": [],
            "open_rate": None, "click_rate": 8.0, "engaged_rate": 10.9, "time_to_open": None,
        },
        "viber": {
            "sent": 800, "delivered": 790, "read": 640, "clicked": 70, "answered": 30,
            "replied": 4, "engaged": 98, "unsubscribed": 2, "blocked": 0,
            "reports": ["delivered", "read"], "open_rate": 81.0, "click_rate": 8.8,
            "engaged_rate": 12.3,
            "time_to_open": {
                "median_seconds": 1740.0, "p90_seconds": 14400.0,
                "histogram": {"< 5 min": 150, "5-15 min": 110, "15-30 min": 70, "30-60 min": 90,
                              "1-3 h": 100, "3-12 h": 80, "12-24 h": 25, "> 24 h": 15},
            },
        },
    },
    "survey": {
        "answers": 71, "response_rate": 3.6,
        "scores": {"1": 2, "2": 3, "3": 9, "4": 22, "5": 35},
    },
    "attributed_by_currency": [
        {"currency": "EUR", "orders": 58, "revenue": "1740.50"},
        {"currency": "PLN", "orders": 12, "revenue": "960.00"},
    ],
    "holdout": {
        "sent": {"members": 1900, "repeat_buyers": 380, "repeat_rate": 20.0},
        "holdout": {"members": 100, "repeat_buyers": 15, "repeat_rate": 15.0},
        "uplift_points": 5.0, "ci95_points": [-3.0, 11.4],
        "method": "Newcombe hybrid Wilson score (1998, method 10), 95%",
        "verdict": "not yet measurable: about 640 more customers in the holdout are needed "
        "for a 5-point uplift",
    },
    "global_holdout": {
        "percent": 5.0,
        "messaged": {"members": 3800, "repeat_buyers": 912, "repeat_rate": 24.0},
        "holdout": {"members": 200, "repeat_buyers": 34, "repeat_rate": 17.0},
        "uplift_points": 7.0, "ci95_points": [1.3, 11.7],
        "method": "Newcombe hybrid Wilson score (1998, method 10), 95%",
        "verdict": "brought customers back: +7.0 points (95% interval +1.3 to +11.7)",
    },
    "per_day": [
        {"day": "2026-12-01", "sent": 700, "read": 230, "clicked": 61, "answered": 25},
        {"day": "2026-12-04", "sent": 1300, "read": 410, "clicked": 105, "answered": 46},
    ],
    "funnel": funnel.EXAMPLE,
    "computed_at": "2026-12-05T11:59:10+00:00",
}  # fmt: skip


class ProgrammeStatsApi(ApiView):
    @extend_schema(
        operation_id="stats_programme",
        summary="The whole programme: every campaign's figures over the last days",
        description="The programme dashboard's figures: per channel (honest about which "
        "platforms report reads), survey, attributed orders per currency, per day, the pooled "
        "campaign holdouts and the global holdout, each uplift with a 95% interval and a "
        "verdict in plain words.",
        parameters=[
            OpenApiParameter(
                "days", int, description=f"The period, 1..{MAX_DAYS} (default {DEFAULT_DAYS})."
            )
        ],
        responses={200: ProgrammeStatsOut} | errors(400, 401),
        examples=[OpenApiExample("A month, two channels", value=EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        incoming = ProgrammeStatsIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        return Response(sections(days=incoming.validated_data["days"]))
