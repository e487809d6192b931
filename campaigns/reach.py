# ruff: noqa: S608 - SQL text is built from constants and aliases only; values are parameters.
"""Who will get this: a campaign's audience as the dispatcher would decide it if it were sent
now, per channel account and outcome, in one SQL statement.

The same picks as materialization (one subscription per customer, campaigns/materialize.py)
and the same checks in the same order as the send-time policies (campaigns/policies.py): topic
consent, already ordered (weekly), the platform's window, quiet hours (deferred, until when),
the global holdout (marketing; counted as held out, in SQL: campaigns/holdout.py), the frequency
cap, holdout. The campaign's holdout is a hash Python computes (policies.held_out); only the ids
of rows that got that far are read back for it, and only when the campaign holds some out.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.already_ordered import DAYS_CONDITION, applies
from campaigns.audience import FROM, audience_where, db_time
from campaigns.cap_counts import SENT_OR_MAYBE
from campaigns.content import content_for
from campaigns.holdout import in_global_holdout_sql
from campaigns.materialize import MOST_RECENTLY_ACTIVE
from campaigns.models import Campaign
from campaigns.policies import held_out
from channels.errors import SendError
from channels.messages import RichMessage
from channels.models import ChannelAccount
from channels.providers import PROVIDERS
from channels.providers.base import SendOptions
from subscriptions.models import TOPIC_FIELDS

# Outcomes, in the order the dispatcher checks them; each names the reason it records.
SEND, DEFERRED = "send", "deferred"
NO_CONSENT, ALREADY, WINDOW, CAPPED, HELD_OUT = (
    "no_consent", "already_ordered", "window_closed", "capped", "held_out"
)  # fmt: skip
OUTCOMES = (SEND, DEFERRED, NO_CONSENT, ALREADY, WINDOW, CAPPED, HELD_OUT)
LABELS = {
    SEND: "would be sent now",
    DEFERRED: "deferred by quiet hours",
    NO_CONSENT: "skipped: did not choose this topic",
    ALREADY: "skipped: already ordered for the coming week",
    WINDOW: "skipped: outside the platform's window",
    CAPPED: "skipped: frequency cap reached",
    HELD_OUT: "held out (not sent, to measure the effect)",
}


def campaign_reach(campaign: Campaign, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per account: the audience, each outcome's count, quiet-hours resume times, the sends
    outside the window (VK intent, WhatsApp billed template) and the estimated cost."""
    now = now or timezone.now()
    rows = _rows(campaign, now)
    accounts = {a.pk: a for a in ChannelAccount.objects.filter(pk__in={r[0] for r in rows})}
    channels: dict[int, dict[str, Any]] = {}
    for account_id, outcome, outside, count, first, last in rows:
        entry = channels.setdefault(account_id, _empty(accounts[account_id]))
        entry["audience"] += count
        entry[outcome] += count
        if outcome == SEND and outside:
            entry["outside_window"] += count
        if outcome == DEFERRED:
            until = entry["deferred_until"]
            until["first"] = min(filter(None, (until["first"], first)), default=None)
            until["last"] = max(filter(None, (until["last"], last)), default=None)
    result = []
    for entry in sorted(channels.values(), key=lambda e: (e["kind"], e["account"])):
        price = entry.pop("_price")
        # Sent now or later: deferred rows go out when the quiet hours end.
        entry["billed"] = entry[SEND] + entry[DEFERRED] if price else 0
        # An SMS is billed per segment: the default message's count, as the preview shows it.
        per = billed_units(campaign, entry["kind"])
        entry["billed_units_each"] = per
        entry["cost"] = str((price or Decimal(0)) * entry["billed"] * per) if price else "0"
        for key in ("first", "last"):
            moment = entry["deferred_until"][key]
            entry["deferred_until"][key] = moment.isoformat() if moment else None
        result.append(entry)
    totals = {key: sum(e[key] for e in result) for key in ("audience", *OUTCOMES, "billed")}
    return {"computed_at": now.isoformat(), "channels": result, "totals": totals}


def billed_units(campaign: Campaign, kind: str) -> int:
    """What one message of the campaign costs on `kind`, in the units the price is per (an
    SMS segment; one message elsewhere): the default message as the channel renders it
    (placeholders as written: a name or an order number changes it by little)."""
    _, data = content_for(campaign, kind, "")
    if not isinstance(data, dict):
        return 1
    try:
        provider = PROVIDERS[kind](ChannelAccount(kind=kind, credentials={}))
        return provider.billed_units(provider.render(RichMessage.from_dict(data), SendOptions()))
    except (SendError, KeyError, TypeError, ValueError):
        return 1


def _empty(account: ChannelAccount) -> dict[str, Any]:
    return {
        "account": account.name,
        "account_id": account.pk,
        "kind": account.kind,
        "audience": 0,
        **dict.fromkeys(OUTCOMES, 0),
        "outside_window": 0,
        "deferred_until": {"first": None, "last": None},
        "currency": account.price_currency,
        "_price": account.price_per_message,
    }


def _rows(campaign: Campaign, now: dt.datetime) -> list[tuple]:
    where = audience_where(campaign, now=now)
    topic = campaign.consent_topic
    consent = f"s.{TOPIC_FIELDS[topic]}" if topic else "TRUE"
    window, window_params = _window(campaign, now)
    already, already_params = _already(campaign, now)
    capped, capped_params = _capped(campaign, now)
    global_held, global_params = (
        in_global_holdout_sql("l.cid") if campaign.category == Campaign.Category.MARKETING
        else ("FALSE", [])
    )  # fmt: skip
    start, end = campaign.quiet_hours_start, campaign.quiet_hours_end
    quiet_on = campaign.respect_quiet_hours and start != end
    inside = "lt >= %s AND lt < %s" if start < end else "(lt >= %s OR lt < %s)"
    quiet = f"({inside})" if quiet_on else "FALSE"
    pick_sql = (
        "SELECT s.id AS sid, s.account_id AS aid, a.kind AS kind, s.order_id AS oid,"
        f" s.customer_id AS cid, {consent} AS consented, s.last_inbound_at AS last_in,"
        " COALESCE(NULLIF(c.time_zone, ''), 'UTC') AS tz,"
        f" ROW_NUMBER() OVER (PARTITION BY s.customer_id ORDER BY {MOST_RECENTLY_ACTIVE.text})"
        f" AS pick FROM {FROM} WHERE {where.text}"
    )
    local = (
        "SELECT p.*, (CAST(%s AS timestamptz) AT TIME ZONE p.tz) AS lts FROM picked p"
        " WHERE p.pick = 1"
    )
    decided = (
        "SELECT l.aid, l.sid, CAST(l.lts AS time) AS lt, CAST(l.lts AS date) AS ld, l.tz,"
        f" l.consented, ({already}) AS already, ({window}) AS win, ({capped}) AS capped,"
        f" ({global_held}) AS global_held"
        " FROM local l"
    )
    outcome = (
        f"CASE WHEN NOT consented THEN '{NO_CONSENT}' WHEN already THEN '{ALREADY}'"
        f" WHEN win = 'closed' THEN '{WINDOW}' WHEN {quiet} THEN '{DEFERRED}'"
        f" WHEN global_held THEN '{HELD_OUT}' WHEN capped THEN '{CAPPED}' ELSE '{SEND}' END"
    )
    resume = (
        f"CASE WHEN {quiet} THEN ((CASE WHEN lt < %s THEN ld ELSE ld + 1 END) + CAST(%s AS time))"
        " AT TIME ZONE tz END"
    )
    quiet_params = (start, end) if quiet_on else ()
    final = (
        f"SELECT aid, sid, {outcome} AS outcome, win = 'outside' AS outside,"
        f" {resume} AS resume FROM decided"
    )
    params: list[Any] = [*MOST_RECENTLY_ACTIVE.params, *where.params, db_time(now)]
    params += [*already_params, *window_params, *capped_params, *global_params]
    params += [*quiet_params, *quiet_params, end, end]
    base = f"WITH picked AS ({pick_sql}), local AS ({local}), decided AS ({decided}),"
    base += f" final AS ({final})"
    holdout = campaign.holdout_percent > 0
    with connection.cursor() as cursor:
        if not holdout:
            cursor.execute(
                f"{base} SELECT aid, outcome, outside, COUNT(*), MIN(resume), MAX(resume)"
                " FROM final GROUP BY aid, outcome, outside",
                params,
            )
            return list(cursor.fetchall())
        # One statement: `final` is computed once for both halves (a CTE used twice is
        # materialized), the skips counted in SQL, the sends' ids read for the hash.
        cursor.execute(
            f"{base} SELECT aid, outcome, outside, COUNT(*), MIN(resume), MAX(resume), NULL"
            f" FROM final WHERE outcome <> '{SEND}' GROUP BY aid, outcome, outside"
            f" UNION ALL SELECT aid, outcome, outside, 1, NULL, NULL, sid FROM final"
            f" WHERE outcome = '{SEND}'",
            params,
        )
        rows, sends = [], defaultdict(int)
        for aid, outcome, outside, count, first, last, sid in cursor.fetchall():
            if sid is None:
                rows.append((aid, outcome, outside, count, first, last))
            else:
                kept = held_out(campaign.pk, sid, campaign.holdout_percent)
                sends[(aid, HELD_OUT if kept else SEND, outside)] += 1
    return rows + [(*key, count, None, None) for key, count in sends.items()]


def _window(campaign: Campaign, now: dt.datetime) -> tuple[str, tuple]:
    """'open', 'outside' (sent in the platform's out-of-window form) or 'closed', per kind.

    Messenger's tag is for a service update about the delivery's own order; campaign rows
    carry no order (only triggers' do), so outside its window a campaign is skipped there."""
    cases, params = [], []
    for kind, provider in PROVIDERS.items():
        window = provider.window
        if window.hours is None:
            continue
        if window.outside == "intent":
            closed = "'outside'"
        elif window.outside == "template":
            closed = "'outside'" if campaign.whatsapp_template else "'closed'"
        else:
            closed = "'closed'"
        cases.append(
            "WHEN l.kind = %s THEN CASE WHEN l.last_in IS NOT NULL AND l.last_in >= %s"
            f" THEN 'open' ELSE {closed} END"
        )
        params += [kind, db_time(now - dt.timedelta(hours=window.hours))]
    if not cases:
        return "'open'", ()
    return f"CASE {' '.join(cases)} ELSE 'open' END", tuple(params)


def _already(campaign: Campaign, now: dt.datetime) -> tuple[str, tuple]:
    """Weekly campaigns: an order (not cancelled) since the previous occurrence, taken as a
    week before now (or the campaign's own window in days)."""
    if not applies(campaign):
        return "FALSE", ()
    conditions = (
        campaign.trigger_conditions if isinstance(campaign.trigger_conditions, dict) else {}
    )
    days = float(conditions.get(DAYS_CONDITION) or 7)
    return (
        "EXISTS (SELECT 1 FROM subscriptions_order o WHERE o.customer_id = l.cid"
        " AND o.status <> 'cancelled' AND o.placed_at >= %s)",
        (db_time(now - dt.timedelta(days=days)),),
    )


def _capped(campaign: Campaign, now: dt.datetime) -> tuple[str, tuple]:
    """Marketing only: the customer's marketing messages in the cap's window reach the cap."""
    if campaign.category != Campaign.Category.MARKETING:
        return "FALSE", ()
    since = now - dt.timedelta(days=settings.MARKETING_CAP_DAYS)
    states = tuple(str(s) for s in SENT_OR_MAYBE)
    marks = ", ".join(["%s"] * len(states))
    return (
        "(SELECT COUNT(*) FROM subscriptions_subscription cs"
        " JOIN campaigns_delivery d ON d.subscription_id = cs.id"
        " JOIN campaigns_campaign mc ON mc.id = d.campaign_id"
        f" WHERE cs.customer_id = l.cid AND mc.category = %s AND d.state IN ({marks})"
        " AND d.sent_at >= %s) >= %s",
        (Campaign.Category.MARKETING.value, *states, db_time(since), settings.MARKETING_CAP_COUNT),
    )


def campaign_launch_with_reach(*, campaign_id: int) -> tuple[Campaign, int]:
    """Launch, keeping what the reach panel expected at that moment (to set beside what
    happened). Computed before the launch: its own first sends would count toward the cap."""
    from campaigns.services import campaign_launch  # services import the engine's modules

    expected = campaign_reach(Campaign.objects.get(pk=campaign_id))
    campaign, created = campaign_launch(campaign_id=campaign_id)
    Campaign.objects.filter(pk=campaign_id).update(expected_reach=expected)
    campaign.expected_reach = expected
    return campaign, created
