"""When a weekly campaign is next due in one time zone, and the occurrence key of that send."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Occurrence:
    key: str  # the ISO week of the local date, e.g. "2026-W48"
    due_at: dt.datetime  # in UTC


def zone_or_utc(name: str) -> ZoneInfo:
    """The named zone; a bad name (rows written around the validator) falls back to UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def next_weekly(
    *, weekday: int, local_time: dt.time, zone: ZoneInfo, now: dt.datetime, late: dt.timedelta
) -> Occurrence:
    """The first `weekday` at `local_time` in `zone` that is not more than `late` in the past.

    `late` lets an occurrence whose moment passed during a short outage still go out.
    """
    earliest = now - late
    local = earliest.astimezone(zone)
    day = local.date() + dt.timedelta(days=(weekday - local.weekday()) % 7)
    # Compare in UTC: aware datetimes in one zone compare by wall time, which lies across DST.
    due = dt.datetime.combine(day, local_time, tzinfo=zone).astimezone(dt.UTC)
    if due < earliest:
        day += dt.timedelta(days=7)
        due = dt.datetime.combine(day, local_time, tzinfo=zone).astimezone(dt.UTC)
    return Occurrence(key=week_key(day), due_at=due)


def weekly_local_date(key: str, weekday: int) -> dt.date | None:
    """The local date of a weekly occurrence: `weekday` of ISO week `key` (None if no week)."""
    year, sep, week = key.partition("-W")
    try:
        return dt.date.fromisocalendar(int(year), int(week), weekday + 1) if sep else None
    except ValueError:
        return None
