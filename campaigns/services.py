"""Campaign flows: check, launch, pause, and the periodic materialization tick."""

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.already_ordered import DAYS_CONDITION, SKIP_CONDITION
from campaigns.fallbacks import fallbacks_tick
from campaigns.materialize import (
    analyze_deliveries,
    one_off_materialize,
    one_statement,
    recurring_materialize,
)
from campaigns.models import Campaign, Delivery
from campaigns.triggers import (
    CONDITIONS,
    TRIGGER_EVENTS,
    WINBACK,
    order_events_sweep,
    winback_materialize,
)
from channels.messages import RichMessage
from channels.providers import PROVIDERS
from subscriptions.models import TOPICS

log = logging.getLogger(__name__)
LAUNCHABLE = (Campaign.Status.DRAFT, Campaign.Status.PAUSED)
PAUSABLE = (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED)
# A weekly campaign's conditions: the already-ordered rule (campaigns/already_ordered.py).
RECURRING_CONDITIONS = (SKIP_CONDITION, DAYS_CONDITION)
EXPIRED = "expired_while_paused"


class TransitionRefused(Exception):
    """The campaign cannot make this status change (or is not ready to launch)."""


def content_error(content: object) -> str | None:
    """Why `content` is not {"default" or channel kind: RichMessage dict, ...}, or None."""
    if not isinstance(content, dict) or not content:
        return 'Expected an object like {"default": {"text": "Hi {name}!"}}.'
    for key, message in content.items():
        if key != "default" and key not in PROVIDERS:
            return f"Unknown key {key!r}: use 'default' or a channel kind ({', '.join(PROVIDERS)})."
        try:
            parsed = RichMessage.from_dict(message)
        except (TypeError, KeyError, AttributeError, ValueError):
            return f"{key}: not a message (text, image_url, buttons, quick_replies, cards)."
        if not _all_strings(parsed):
            return f"{key}: every text, url and payload must be a string."
        if not (parsed.text or parsed.image_url or parsed.cards):
            return f"{key}: the message is empty (give text, image_url or cards)."
    return None


def _all_strings(message: RichMessage) -> bool:
    cards = message.cards
    buttons = [*message.buttons, *message.quick_replies, *(b for c in cards for b in c.buttons)]
    values = [message.text, message.image_url]
    values += [v for b in buttons for v in (b.text, b.url, b.payload)]
    values += [v for c in cards for v in (c.title, c.subtitle, c.image_url)]
    return all(isinstance(v, str) for v in values)


def campaign_errors(campaign: Campaign) -> dict[str, str]:
    """What the campaign's kind needs and lacks, by field name ({} when ready to launch)."""
    errors: dict[str, str] = {}
    if campaign.kind == Campaign.Kind.ONE_OFF and campaign.send_at is None:
        errors["send_at"] = "A one-off campaign needs send_at."
    if campaign.kind == Campaign.Kind.RECURRING:
        if campaign.weekday is None:
            errors["weekday"] = "A recurring campaign needs weekday (0 = Monday … 6 = Sunday)."
        if campaign.local_time is None:
            errors["local_time"] = "A recurring campaign needs local_time (e.g. 10:00)."
    if campaign.kind == Campaign.Kind.TRIGGERED and campaign.trigger_event not in TRIGGER_EVENTS:
        errors["trigger_event"] = f"A triggered campaign needs one of {', '.join(TRIGGER_EVENTS)}."
    problem = content_error(campaign.content)
    if problem:
        errors["content"] = problem
    problem = topic_error(campaign.category, campaign.topic)
    if problem:
        errors["topic"] = problem
    problem = topics_error(campaign.subscribed_topics)
    if problem:
        errors["subscribed_topics"] = problem
    for name in ("whatsapp_template_params", "whatsapp_template_buttons"):
        texts = getattr(campaign, name)
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            errors[name] = 'Expected a list of texts, e.g. ["{name}"].'
    problem = conditions_error(campaign.kind, campaign.trigger_conditions)
    if problem:
        errors["trigger_conditions"] = problem
    if campaign.trigger_delay is not None and campaign.trigger_delay < dt.timedelta(0):
        errors["trigger_delay"] = "The delay cannot be negative."
    errors.update(fallback_errors(campaign))
    return errors


def fallback_errors(campaign: Campaign) -> dict[str, str]:
    """What is wrong with the campaign's fallback rules (campaigns/fallbacks.py), by field."""
    errors: dict[str, str] = {}
    kinds = campaign.fallback_channels
    if not isinstance(kinds, list) or not all(k in PROVIDERS for k in kinds):
        errors["fallback_channels"] = (
            f"Expected a list of channel kinds from {', '.join(PROVIDERS)}."
        )
    elif len(set(kinds)) != len(kinds):
        errors["fallback_channels"] = "Each channel once: the list is the order to try them in."
    for name in ("fallback_not_delivered_after", "fallback_not_read_after"):
        after = getattr(campaign, name)
        if after is not None and after <= dt.timedelta(0):
            errors[name] = "Give a time after the send, e.g. 2 hours."
    rules = campaign.fallback_not_delivered_after or campaign.fallback_not_read_after
    if rules and not kinds and "fallback_channels" not in errors:
        errors["fallback_channels"] = "Pick the channels to fall back to, in order."
    return errors


def topic_error(category: str, topic: str) -> str | None:
    """Why `topic` cannot gate a `category` message (Campaign.consent_topic), or None."""
    if category == Campaign.Category.SERVICE and topic:
        return "A service message needs no topic (it goes whatever the customer chose)."
    if category == Campaign.Category.SURVEY and topic not in ("", "surveys"):
        return "A survey goes only to customers who chose surveys: use that topic (or none)."
    if category == Campaign.Category.MARKETING and topic == "surveys":
        return "Marketing needs the menu or promotions topic (empty means promotions)."
    return None


def topics_error(topics: object) -> str | None:
    """Why `topics` is not a list of known topics, or None."""
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return "Expected a list of topics."
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        return f"Unknown topic(s) {', '.join(unknown)}; choose from {', '.join(TOPICS)}."
    return None


def conditions_error(kind: str, conditions: object) -> str | None:
    """Why `conditions` do not suit the campaign kind, or None."""
    if not isinstance(conditions, dict):
        return "Expected an object."
    allowed = {
        Campaign.Kind.TRIGGERED: CONDITIONS,
        Campaign.Kind.RECURRING: RECURRING_CONDITIONS,
    }.get(kind, ())
    unknown = sorted(set(conditions) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "none"
        return f"Unknown condition(s) {', '.join(unknown)}; a {kind} campaign takes: {takes}."
    skus = conditions.get("skus", [])
    if not isinstance(skus, list) or not all(isinstance(sku, str) for sku in skus):
        return "skus must be a list of strings."
    for key in ("min_total", "max_total", DAYS_CONDITION):
        if key in conditions and not _non_negative(conditions[key]):
            return f"{key} must be a non-negative number."
    if not isinstance(conditions.get(SKIP_CONDITION, True), bool):
        return f"{SKIP_CONDITION} must be true or false."
    return None


def _non_negative(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)) >= 0
    except InvalidOperation:
        return False


def campaign_launch(*, campaign_id: int, now: dt.datetime | None = None) -> tuple[Campaign, int]:
    """draft/paused -> scheduled (one-off) or running; materialize what is due now."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in LAUNCHABLE:
            raise TransitionRefused(f"A {campaign.status} campaign cannot be launched.")
        if campaign.archived_at is not None:
            raise TransitionRefused(
                "An archived campaign cannot be launched: duplicate it and launch the copy."
            )
        errors = campaign_errors(campaign)
        if errors:
            raise TransitionRefused(" ".join(errors.values()))
        if campaign.status == Campaign.Status.PAUSED:
            _expire_stale(campaign, now)
        one_off = campaign.kind == Campaign.Kind.ONE_OFF
        campaign.status = Campaign.Status.SCHEDULED if one_off else Campaign.Status.RUNNING
        campaign.launched_at = now
        campaign.save(update_fields=["status", "launched_at", "updated_at"])
        with one_statement():  # rows of a launch that fails must not be left due
            created = _materialize(campaign, now)
        if created >= settings.MATERIALIZE_ANALYZE_ROWS:
            analyze_deliveries()  # before the rows commit: see analyze_deliveries
        if created:
            transaction.on_commit(_wake)
    return campaign, created


def _expire_stale(campaign: Campaign, now: dt.datetime) -> int:
    """On relaunch, rows that fell due long ago while paused are skipped, not sent late:
    last week's menu, or a survey about a month-old order. A one-off goes out as planned."""
    if campaign.kind == Campaign.Kind.RECURRING:
        limit = dt.timedelta(minutes=settings.RECURRING_LATE_MINUTES)
    elif campaign.kind == Campaign.Kind.TRIGGERED:
        limit = dt.timedelta(hours=settings.TRIGGER_MAX_LATE_HOURS)
    else:
        return 0
    return Delivery.objects.filter(
        campaign=campaign,
        state__in=(Delivery.State.PENDING, Delivery.State.DEFERRED),
        due_at__lt=now - limit,
    ).update(state=Delivery.State.SKIPPED, reason=EXPIRED)


def campaign_pause(*, campaign_id: int) -> Campaign:
    """running/scheduled -> paused: the dispatcher sends none of its deliveries until relaunch."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in PAUSABLE:
            raise TransitionRefused(f"A {campaign.status} campaign cannot be paused.")
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
    return campaign


def _materialize(campaign: Campaign, now: dt.datetime) -> int:
    """Write the campaign's due rows; a one-off whose rows exist moves on to running."""
    if campaign.kind == Campaign.Kind.ONE_OFF:
        lookahead = dt.timedelta(seconds=settings.ONE_OFF_LOOKAHEAD_SECONDS)
        if campaign.send_at is None or campaign.send_at > now + lookahead:
            return 0
        created = one_off_materialize(campaign=campaign, now=now)
        campaign.status = Campaign.Status.RUNNING
        campaign.save(update_fields=["status", "updated_at"])
        return created
    if campaign.kind == Campaign.Kind.RECURRING:
        return recurring_materialize(campaign=campaign, now=now)
    if campaign.trigger_event == WINBACK:
        return winback_materialize(campaign=campaign, now=now)
    return 0  # order-event triggers write rows as their events arrive (campaigns.triggers)


def materialize_tick(*, now: dt.datetime | None = None, refresh: bool | None = None) -> int:
    """Materialize due one-offs; on refresh ticks, weekly and win-back campaigns; sweep events.

    Weekly and win-back audiences are re-read once per RECURRING_REFRESH_SECONDS (the first
    tick of each such period), not every tick: each pass reads the whole audience.
    """
    now = now or timezone.now()
    if refresh is None:
        refresh = now.timestamp() % settings.RECURRING_REFRESH_SECONDS < (
            settings.MATERIALIZE_TICK_SECONDS
        )
    lookahead = now + dt.timedelta(seconds=settings.ONE_OFF_LOOKAHEAD_SECONDS)
    due = Campaign.objects.filter(
        kind=Campaign.Kind.ONE_OFF, status=Campaign.Status.SCHEDULED, send_at__lte=lookahead
    )
    if refresh:
        due |= Campaign.objects.filter(status=Campaign.Status.RUNNING, kind=Campaign.Kind.RECURRING)
        due |= Campaign.objects.filter(status=Campaign.Status.RUNNING, trigger_event=WINBACK)
    created = 0
    for pk in due.order_by("pk").values_list("pk", flat=True):
        try:
            created += _materialize_locked(pk, now)
        except Exception:  # one broken campaign must not stop the others
            log.exception("materializing campaign %s failed", pk)
    order_events_sweep(now=now)
    fallbacks_tick(now=now)
    one_offs_finish(now=now)
    return created


def one_offs_finish(*, now: dt.datetime) -> int:
    """Running one-offs whose every delivery row is final become finished; how many.

    A one-off is running only once its rows are written (in the transaction that writes
    them), so "no open row" means it is done. Triggered and weekly campaigns never finish.
    """
    open_rows = Delivery.objects.filter(campaign=OuterRef("pk")).exclude(
        state__in=Delivery.FINAL_STATES
    )
    with transaction.atomic():
        # SKIP LOCKED: a campaign being relaunched or paused right now is left for next tick.
        done = list(
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(kind=Campaign.Kind.ONE_OFF, status=Campaign.Status.RUNNING)
            .exclude(Exists(open_rows))
            .values_list("pk", flat=True)
        )
        Campaign.objects.filter(pk__in=done).update(status=Campaign.Status.FINISHED, updated_at=now)
    for pk in done:
        log.info("campaign %s finished: every delivery is final", pk)
    return len(done)


def _materialize_locked(campaign_id: int, now: dt.datetime) -> int:
    with transaction.atomic():
        # SKIP LOCKED: a slow pass (a million rows) still running from the previous tick keeps
        # its campaign; this tick moves on instead of doing the same work twice.
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(pk=campaign_id, status__in=PAUSABLE)
            .first()
        )
        if campaign is None:
            return 0
        created = _materialize(campaign, now)
        if created >= settings.MATERIALIZE_ANALYZE_ROWS:
            analyze_deliveries()  # before the rows commit: see analyze_deliveries
        return created


def _wake() -> None:
    """What the next beat tick would do, now: a launch due at once need not wait for it."""
    from campaigns.dispatch import accounts_to_wake
    from campaigns.tasks import dispatch_wake  # the tasks module imports the engine's modules

    for account_id in accounts_to_wake(timezone.now()):
        dispatch_wake(account_id)
