"""The subscribe funnel in admin: bars drawn on the server (SVG, no script, no CDN), tables
per source, device and messenger, and each table as CSV (?format=csv)."""

import csv
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from subscriptions.funnel import STEPS, funnel_figures
from subscriptions.models import Subscription
from subscriptions.sources import SOURCES

PERIODS = (7, 30, 90, 365)
LABELS = {
    "links_issued": "Orders with links issued",
    "page_opened": "Subscribe page opened",
    "button_pressed": "Messenger button pressed",
    "subscribed": "Subscribed",
    "still_subscribed_30d": "Still subscribed after 30 days",
}
COLUMNS = ("page_opened", "button_pressed", "subscribed", "old_enough_30d", "still_subscribed_30d")
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_WIDTH = 26, 10, 230, 420


def funnel_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """GET admin/subscriptions/subscription/funnel/?days=30[&format=csv]."""
    days = _days(request.GET.get("days"))
    figures = funnel_figures(days=days)
    if request.GET.get("format") == "csv":
        return _csv(figures, days)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Subscription._meta,
        "title": "Subscribe funnel",
        "days": days,
        "periods": PERIODS,
        "figures": figures,
        "bars": _bars(figures["total"]),
        "chart_height": len(STEPS) * (BAR_HEIGHT + BAR_GAP),
        "label_width": LABEL_WIDTH,
        "tables": [
            ("Source", _rows(figures["by_source"], "source", SOURCES)),
            ("Device", _rows(figures["by_device"], "device", {})),
            ("Messenger", _rows(figures["by_messenger"], "messenger", {})),
        ],
        "columns": [LABELS.get(c, "Subscribed 30+ days ago") for c in COLUMNS],
    }
    return TemplateResponse(request, "admin/subscriptions/subscription/funnel.html", context)


def _days(given: str | None) -> int:
    try:
        days = int(given or 30)
    except ValueError:
        return 30
    return min(max(days, 1), 366)


def _bars(total: dict[str, int]) -> list[dict[str, Any]]:
    """One bar per step, widths relative to the first (or the widest) step."""
    widest = max([total[step] for step in STEPS] + [1])
    first = total["links_issued"]
    bars = []
    for index, step in enumerate(STEPS):
        value = total[step]
        share = f"{100 * value / first:.0f}% of issued" if first and index else ""
        if step == "still_subscribed_30d":
            old = total["old_enough_30d"]
            share = f"of {old} subscribed 30+ days ago" if old else "none 30 days old yet"
        bars.append(
            {
                "label": LABELS[step],
                "value": value,
                "share": share,
                "y": index * (BAR_HEIGHT + BAR_GAP),
                "width": max(round(BAR_WIDTH * value / widest), 1 if value else 0),
                "height": BAR_HEIGHT,
            }
        )
    return bars


def _rows(rows: list[dict[str, Any]], key: str, names: dict[str, str]) -> list[list[Any]]:
    return [[names.get(row[key], row[key]), *(row.get(c, "—") for c in COLUMNS)] for row in rows]


def _csv(figures: dict[str, Any], days: int) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="subscribe-funnel-{days}d.csv"'
    writer = csv.writer(response)
    writer.writerow(["dimension", "value", "links_issued", *COLUMNS])
    total = figures["total"]
    writer.writerow(["total", "", total["links_issued"], *(total[c] for c in COLUMNS)])
    for name in ("source", "device", "messenger"):
        for row in figures[f"by_{name}"]:
            writer.writerow([name, row[name], "", *(row.get(c, "") for c in COLUMNS)])
    email, messenger = figures["email"], figures["messenger"]
    writer.writerow(["email_opt_in", "orders/opted_in/rate", email["orders"], email["opted_in"],
                     email["rate"] if email["rate"] is not None else ""])  # fmt: skip
    writer.writerow(["messenger", "orders/subscribed/rate", messenger["orders"],
                     messenger["subscribed"],
                     messenger["rate"] if messenger["rate"] is not None else ""])  # fmt: skip
    writer.writerow(["times_email", "", figures["times_email"] or ""])
    return response
