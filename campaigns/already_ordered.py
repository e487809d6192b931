"""The weekly menu leaves out customers who already ordered for the coming week.

Precisely: a weekly occurrence invites the customer to order the coming week, so an order
(not cancelled) placed since the previous occurrence - the same weekday and local time one
week earlier, in the customer's own zone - is their order for this cycle, and this
occurrence's row is skipped with reason "already_ordered". Shops whose cycle differs set the
window in days instead (`exclude_ordered_since_days`: an order in the N days before the due
time). The rule is on for every recurring campaign unless its conditions say
`"skip_already_ordered": false`.

Applied twice: when rows are written (campaigns/materialize.py, re-applied at every refresh)
and at the moment of sending (campaigns/policies.py), so an order placed an hour before the
menu goes out still counts.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from campaigns.models import Campaign
from campaigns.schedule import weekly_local_date

ALREADY_ORDERED = "already_ordered"  # the recorded reason (stats group by it)
SKIP_CONDITION = "skip_already_ordered"
DAYS_CONDITION = "exclude_ordered_since_days"


def applies(campaign: Campaign) -> bool:
    """True if the campaign leaves out customers who already ordered."""
    if campaign.kind != Campaign.Kind.RECURRING:
        return False
    return _conditions(campaign).get(SKIP_CONDITION, True) is not False


def ordered_since(campaign: Campaign, occurrence: str, zone: ZoneInfo) -> dt.datetime | None:
    """From when an order means "already ordered" for `occurrence` ("2026-W48") in `zone`,
    or None when the rule does not apply (or the row is no weekly occurrence)."""
    if not applies(campaign) or campaign.weekday is None or campaign.local_time is None:
        return None
    day = weekly_local_date(occurrence, campaign.weekday)
    if day is None:
        return None
    days = _conditions(campaign).get(DAYS_CONDITION)
    if days is not None:
        due = dt.datetime.combine(day, campaign.local_time, tzinfo=zone)
        return (due - dt.timedelta(days=float(days))).astimezone(dt.UTC)
    # The previous occurrence in local time: across a DST change it is 167 or 169 hours back.
    previous = day - dt.timedelta(days=7)
    return dt.datetime.combine(previous, campaign.local_time, tzinfo=zone).astimezone(dt.UTC)


def _conditions(campaign: Campaign) -> dict:
    conditions = campaign.trigger_conditions
    return conditions if isinstance(conditions, dict) else {}  # hand-edited rows
