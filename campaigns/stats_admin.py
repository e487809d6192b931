"""The marketer's stats pages in admin: a campaign's figures and the programme dashboard, with
charts (campaigns/charts.py) and every table as CSV (`?csv=<table>`)."""

import csv
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from campaigns import charts
from campaigns.figures import BUCKETS, RECEIPTS
from campaigns.models import Campaign
from campaigns.programme import DEFAULT_DAYS, MAX_DAYS
from campaigns.stats_snapshot import campaign_stats_snapshot, programme_stats_snapshot

CHANNEL_COLUMNS = ("sent", "delivered", "read", "open_rate", "clicked", "click_rate", "answered",
                   "replied", "engaged", "engaged_rate", "unsubscribed", "blocked")  # fmt: skip


# Platforms that send no read receipts: the pages say so instead of showing an open rate.
NO_READS = [kind for kind, reports in RECEIPTS.items() if "read" not in reports]


def campaign_stats_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> Any:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    return _page(
        model_admin, request, campaign_stats_snapshot(campaign),
        csv_name=f"campaign-{campaign.pk}", template="stats_page.html",
        title=f"Stats: {campaign}", campaign=campaign,
    )  # fmt: skip


def programme_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> Any:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        days = min(max(int(request.GET.get("days", DEFAULT_DAYS)), 1), MAX_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    return _page(
        model_admin, request, programme_stats_snapshot(days=days),
        csv_name=f"programme-{days}d", template="programme.html",
        title=f"Programme: the last {days} days", days=days,
        day_choices=sorted({7, 30, 90, 365, days}),
    )  # fmt: skip


def _page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    figures: dict,
    *,
    csv_name: str,
    template: str,
    **extra: Any,
) -> HttpResponse:
    """The page of `figures`, or one of its tables as CSV when `?csv=<table>` names one."""
    tables = _tables(figures)
    name = request.GET.get("csv")
    if name in tables:
        return _csv(f"{csv_name}-{name}.csv", *tables[name])
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "f": figures,
        **_charts(figures),
        "tables": tables,
        "no_reads": NO_READS,
        **extra,
    }
    return TemplateResponse(request, f"admin/campaigns/campaign/{template}", context)


def _charts(figures: dict) -> dict[str, Any]:
    channels = figures["channels"]
    rows = figures["per_day"]
    opened = dict.fromkeys((label for label, _ in BUCKETS), 0)
    for figure in channels.values():
        for label, n in ((figure["time_to_open"] or {}).get("histogram") or {}).items():
            opened[label] += n
    days_chart = ""
    if rows:
        series = {"sent": [r["sent"] for r in rows], "read": [r["read"] for r in rows]}
        days_chart = charts.columns([r["day"] for r in rows], series)
    rates = [(kind, c["open_rate"]) for kind, c in channels.items() if c["open_rate"] is not None]
    scores = sorted(figures["survey"]["scores"].items())
    return {
        "chart_days": days_chart,
        "chart_open_rate": charts.bars(rates, unit="%"),
        "chart_engaged": charts.bars(
            [(kind, c["engaged_rate"] or 0) for kind, c in channels.items()], unit="%"
        ),
        "chart_time_to_open": charts.bars(list(opened.items())) if any(opened.values()) else "",
        "chart_scores": charts.bars([(f"{score} ★", n) for score, n in scores]),
    }


def _tables(figures: dict) -> dict[str, tuple[list[str], list[list[Any]]]]:
    channel_rows = []
    for kind, c in figures["channels"].items():
        opened = c["time_to_open"] or {}
        channel_rows.append(
            [kind, *(c[col] for col in CHANNEL_COLUMNS),
             opened.get("median_seconds"), opened.get("p90_seconds")]
        )  # fmt: skip
    day_columns = ("day", "sent", "read", "clicked", "answered")
    return {
        "channels": (
            ["channel", *CHANNEL_COLUMNS, "median_open_seconds", "p90_open_seconds"],
            channel_rows,
        ),
        "days": (list(day_columns), [[r[c] for c in day_columns] for r in figures["per_day"]]),
        "revenue": (
            ["currency", "orders", "revenue"],
            [[r["currency"], r["orders"], r["revenue"]] for r in figures["attributed_by_currency"]],
        ),
        "scores": (["score", "answers"], [[s, n] for s, n in figures["survey"]["scores"].items()]),
    }


def _csv(filename: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return response
