# ruff: noqa: S608 - SQL text is built from constants and aliases only; values are parameters.
"""A campaign's audience as one SQL condition, so materialization stays a single INSERT … SELECT.

The condition reads three aliases joined by `FROM`: `s` (subscription), `c` (customer) and `a`
(channel account). Every filter is optional and they combine with AND. The campaign's own
consent topic, windows, quiet hours, caps and holdout are send-time policies
(campaigns/policies.py), not filters here: the dispatcher records each such skip with its
reason, so stats can show it. "Subscribed topics" is the marketer's choice of audience.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from campaigns.models import Campaign
from channels.models import SANDBOX_KIND
from subscriptions.models import TOPIC_FIELDS

FROM = (
    "subscriptions_subscription s"
    " JOIN subscriptions_customer c ON c.id = s.customer_id"
    " JOIN channels_channelaccount a ON a.id = s.account_id"
)
# Orders that count as "an order" for recency filters: a cancelled order is not a purchase.
LIVE_ORDER = "o.customer_id = c.id AND o.status <> 'cancelled'"


@dataclass(frozen=True)
class Sql:
    """A fragment of SQL and its parameters."""

    text: str
    params: tuple[Any, ...] = ()

    def __and__(self, other: "Sql") -> "Sql":
        return Sql(f"({self.text}) AND ({other.text})", self.params + other.params)


def db_time(value: dt.datetime) -> Any:
    """A datetime as the database wants it in raw SQL (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _in(column: str, values: list[Any]) -> Sql:
    return Sql(f"{column} IN ({', '.join(['%s'] * len(values))})", tuple(values))


def audience_where(campaign: Campaign, *, now: dt.datetime) -> Sql:
    """The WHERE condition selecting the campaign's audience (relative to `now`)."""
    where = Sql("s.status = %s AND a.enabled = %s", ("active", True))
    if not settings.SANDBOX_ENABLED:
        # Our demo chat is no customer's channel in production (ChannelAccount.customer_facing).
        where &= Sql("a.kind <> %s", (SANDBOX_KIND,))
    # .all(): the trigger path prefetches a campaign's accounts once per event, not per query.
    account_ids = [account.pk for account in campaign.accounts.all()]
    if account_ids:
        where &= _in("s.account_id", account_ids)
    if campaign.skus:
        bought = _in("i.sku", [str(sku) for sku in campaign.skus])
        where &= Sql(
            "EXISTS (SELECT 1 FROM subscriptions_order o"
            " JOIN subscriptions_orderitem i ON i.order_id = o.id"
            f" WHERE {LIVE_ORDER} AND {bought.text})",
            bought.params,
        )
    if campaign.min_days_since_last_order is not None:
        # No order at all also means "at least N days since the last one".
        since = now - dt.timedelta(days=campaign.min_days_since_last_order)
        where &= Sql(
            "NOT EXISTS (SELECT 1 FROM subscriptions_order o"
            f" WHERE {LIVE_ORDER} AND o.placed_at > %s)",
            (db_time(since),),
        )
    if campaign.max_days_since_last_order is not None:
        since = now - dt.timedelta(days=campaign.max_days_since_last_order)
        where &= Sql(
            "EXISTS (SELECT 1 FROM subscriptions_order o"
            f" WHERE {LIVE_ORDER} AND o.placed_at >= %s)",
            (db_time(since),),
        )
    if campaign.min_survey_score is not None:
        where &= Sql(f"({LAST_SCORE}) >= %s", (campaign.min_survey_score,))
    if campaign.max_survey_score is not None:
        where &= Sql(f"({LAST_SCORE}) <= %s", (campaign.max_survey_score,))
    if campaign.languages:
        where &= _languages([str(language).strip().lower() for language in campaign.languages])
    for topic in campaign.subscribed_topics:
        # Column names come from TOPIC_FIELDS, never from the campaign's text.
        where &= Sql(f"s.{TOPIC_FIELDS[topic]} = %s", (True,))
    return where


def _languages(languages: list[str]) -> Sql:
    """Locale is one of `languages`, or a regional form of one ("ru" matches "ru-RU", "ru_UA")."""
    clauses = [
        Sql(
            "lower(c.locale) = %s OR lower(substr(c.locale, 1, %s)) IN (%s, %s)",
            (language, len(language) + 1, f"{language}-", f"{language}_"),
        )
        for language in languages
    ]
    text = " OR ".join(f"({clause.text})" for clause in clauses)
    return Sql(text, tuple(p for clause in clauses for p in clause.params))


# The customer's most recent survey score on any channel; a customer who never answered has
# NULL, which no score filter matches.
LAST_SCORE = (
    "SELECT sa.score FROM campaigns_surveyanswer sa"
    " JOIN campaigns_delivery sd ON sd.id = sa.delivery_id"
    " JOIN subscriptions_subscription ss ON ss.id = sd.subscription_id"
    " WHERE ss.customer_id = c.id AND sa.score IS NOT NULL"
    " ORDER BY sa.answered_at DESC, sa.id DESC LIMIT 1"
)
