"""The inbound path every platform shares: verify, parse, store once, hand to the apps."""

import datetime as dt
import logging
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Least
from django.http import HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string

from channels.errors import MalformedPayload
from channels.events import NormalizedEvent
from channels.models import ChannelAccount, InboundEvent
from channels.providers.base import Reply, WebhookRequest
from channels.sanitize import storable_json, storable_text
from config.wakeups import wake_once

log = logging.getLogger(__name__)

MAX_USER_ID = 255  # InboundEvent.platform_user_id and Subscription.platform_user_id
MAX_LOCALE = 10  # Subscription.locale
INBOUND_TASK = "channels.inbound_drain"
DRAIN_BATCH = 200
DRAIN_BATCHES = 25  # per task; a longer backlog goes on in the next task
RETRY_MAX = dt.timedelta(hours=1)  # the longest wait before a failing event is tried again
ATTEMPTS_MAX = 32767  # the column's ceiling (a failing event is still tried, hourly)


def webhook_receive(*, account: ChannelAccount, request: WebhookRequest) -> HttpResponse:
    """Answer one webhook request: forged -> 403, malformed -> 400, otherwise 200."""
    provider = account.provider()
    handshake = provider.handshake(request)
    if handshake is not None:
        return handshake
    if request.method != "POST":
        return HttpResponse("method not allowed", status=405)
    if not provider.verify(request):
        log.warning("webhook for %s rejected: verification failed", account.name)
        return HttpResponse("forbidden", status=403)
    try:
        events = provider.parse(request)
        kept = [_fields(event) for event in events]  # all checked before any is stored
    except MalformedPayload as exc:
        reason = storable_text(str(exc))  # it may quote the body's own (unencodable) text
        log.warning("webhook for %s rejected: %s", account.name, reason)
        return HttpResponse(f"malformed payload: {reason}", status=400)
    # A worker handles the events unless the answer must carry their replies, or a deep-link
    # token was masked in the stored copy (the handlers need it clear, and it is the customer's
    # first step: they wait for the welcome).
    if settings.INBOUND_PROCESSING == "worker" and not (
        provider.answers_inline(events) or any(clear for _, clear in kept)
    ):
        if events:
            streams = _defer(account, [fields for fields, _ in kept])
            transaction.on_commit(partial(inbound_wake, streams))
        return provider.respond(events, [])[0]
    replies: list[Reply] = []
    if settings.INBOUND_PROCESSING == "worker":
        # Handled here rather than by a worker: first what the same customers sent before it
        # and a worker has not handled yet, so that a Start never overtakes an earlier STOP.
        users = {fields["platform_user_id"] for fields, _ in kept}
        for row in _pending(
            InboundEvent.objects.filter(account=account, platform_user_id__in=users)
        ):
            for reply in _handled(row) or ():
                _reply_enqueue(account, reply)
    for row in _store(account, kept):
        replies.extend(inbound_event_process(event=row))
    response, to_send = provider.respond(events, replies)
    for reply in to_send:
        transaction.on_commit(partial(_reply_enqueue, account, reply))
    return response


def inbound_wake(streams: set[int], *, after: int = 0) -> None:
    """Wake the drains of these streams (once per burst each: config/wakeups.py), to start
    after event id `after` (a drain going on with its backlog), or from the oldest."""
    try:
        for stream in sorted(streams):
            args = (stream, after) if after else (stream,)
            wake_once(INBOUND_TASK, args=args, key=str(stream))
    except Exception:
        # The events are stored and the platform must hear 200; the sweep handles them later.
        log.exception("inbound events stored but not announced (broker unreachable?)")


def inbound_stream(account: ChannelAccount, platform_user_id: str) -> int:
    """The stream of a customer's events: the same for all of them, whichever process asks."""
    key = f"{account.pk}:{platform_user_id}".encode()
    return zlib.crc32(key) % settings.INBOUND_STREAMS


def inbound_events_drain(
    *, stream: int | None = None, older_than: dt.timedelta | None = None, after: int = 0
) -> int:
    """Handle the deferred events of `stream` (None: of all) with ids above `after`, oldest
    first, so one customer's messages are handled in the order they came (the inbound task;
    with `older_than`, the sweep for events whose wake-up was lost). Returns how many were
    handled; a failing one is logged and left to the sweep, which tries it again later after
    each failure (`_retry_later`); until then every drain passes over it."""
    pending = _pending(InboundEvent.objects.all())
    if stream is not None:
        pending = pending.filter(stream=stream)
    if older_than is not None:
        pending = pending.filter(received_at__lte=timezone.now() - older_than)
    handled = 0
    for _ in range(DRAIN_BATCHES):
        batch = list(pending.filter(pk__gt=after)[:DRAIN_BATCH])
        for event in batch:
            after = event.pk
            replies = _handled(event)
            if replies is None:
                continue
            handled += 1
            for reply in replies:
                _reply_enqueue(event.account, reply)
        if len(batch) < DRAIN_BATCH:
            return handled
    # More than one task's share: the rest in the next one. A stream's drain goes on after the
    # last event it looked at: from the oldest again, a share of events that keep failing
    # would be all it ever looked at, over and over. The sweep hands its backlog to every
    # stream's drain, which take it at their pace rather than 5,000 per sweep interval.
    if stream is not None:
        inbound_wake({stream}, after=after)
    else:
        inbound_wake(set(range(settings.INBOUND_STREAMS)))
    return handled


def _pending(events: QuerySet[InboundEvent]) -> QuerySet[InboundEvent]:
    """Those waiting for a worker and due a try, oldest first, with their accounts (the
    handlers and the replies read them)."""
    due = Q(retry_at=None) | Q(retry_at__lte=timezone.now())
    pending = events.filter(due, deferred=True, processed_at=None)
    return pending.select_related("account").order_by("pk")


def _handled(event: InboundEvent) -> list[Reply] | None:
    """The event's replies once its handlers ran; None if they failed (logged, and the event
    tried again later)."""
    try:
        return inbound_event_process(event=event)
    except Exception:
        retry_at = _retry_later(event)
        log.exception("handling inbound event %s failed (%s times); the sweep tries again "
                      "from %s", event.pk, event.attempts + 1, retry_at)  # fmt: skip
        return None


def _retry_later(event: InboundEvent) -> dt.datetime | None:
    """Note a failed try: the next one waits a sweep interval, doubled after each failure up
    to RETRY_MAX. None if the note could not be written (the event is tried at the next
    sweep, as before)."""
    sweep = dt.timedelta(seconds=settings.INBOUND_SWEEP_SECONDS)
    retry_at = timezone.now() + min(sweep * 2 ** min(event.attempts, 16), RETRY_MAX)
    try:
        InboundEvent.objects.filter(pk=event.pk).update(
            attempts=Least(F("attempts") + 1, ATTEMPTS_MAX), retry_at=retry_at
        )
    except DatabaseError:
        log.exception("inbound event %s: its failed try not noted", event.pk)
        return None
    return retry_at


def _reply_enqueue(account: ChannelAccount, reply: Reply) -> None:
    from channels.tasks import send_reply  # the tasks module imports the providers

    try:
        # One quick retry, not kombu's default patience: the platform waits for our answer.
        send_reply.apply_async(
            (account.pk, reply.platform_user_id, reply.message.to_dict()),
            retry_policy={"max_retries": 1},
        )
    except Exception:
        # The event is stored and handled: a 500 now would only make the platform redeliver
        # an update we would (rightly) not handle twice. The reply is lost; say so loudly.
        log.exception("reply to %s on %s not queued (broker unreachable?)",
                      reply.platform_user_id, account.name)  # fmt: skip


def _defer(account: ChannelAccount, events: list[dict]) -> set[int]:
    """Store the events for the worker in one statement, outside any transaction (a webhook
    should cost one round trip). A copy stored before and not handled (its request failed) goes
    to the worker too: this copy masked nothing, so neither did that one. A handled one stays."""
    fields = [f for f in InboundEvent._meta.concrete_fields if not f.primary_key]
    once = {event["event_id"]: event for event in events}  # a row cannot conflict with itself
    rows = [
        InboundEvent(account=account, deferred=True, **event,
                     stream=inbound_stream(account, event["platform_user_id"]))
        for event in once.values()
    ]  # fmt: skip
    values = [
        f.get_db_prep_save(f.pre_save(row, add=True), connection) for row in rows for f in fields
    ]
    quote = connection.ops.quote_name
    table = quote(InboundEvent._meta.db_table)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Names from the model, values as parameters: nothing from the request is in the text.
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT ({quote('account_id')}, {quote('event_id')}) "
        f"DO UPDATE SET {quote('deferred')} = %s, {quote('stream')} = excluded.{quote('stream')}"
        f" WHERE {table}.{quote('processed_at')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, True])
    return {row.stream for row in rows}


def _store(account: ChannelAccount, events: list[tuple[dict, dict]]) -> list[InboundEvent]:
    """Rows to act on: new events, and earlier copies that were stored but never processed."""
    rows = []
    for fields, clear in events:
        try:
            with transaction.atomic():
                row = InboundEvent.objects.create(account=account, **fields)
        except IntegrityError:
            row = InboundEvent.objects.get(account=account, event_id=fields["event_id"])
            if row.processed_at is not None:
                continue
        # The handlers get the event as it arrived; only the stored copy is masked.
        for name, value in clear.items():
            setattr(row, name, value)
        rows.append(row)
    return rows


def _fields(event: NormalizedEvent) -> tuple[dict, dict]:
    """The row's fields, storable in PostgreSQL, and the unmasked values of those that hid a
    deep-link token; MalformedPayload if the event cannot be kept."""
    user = storable_text(event.platform_user_id)
    if len(user) > MAX_USER_ID:
        # Cutting it would merge different customers: no platform's ids come near this.
        raise MalformedPayload(f"platform user id longer than {MAX_USER_ID} characters")
    fields = {
        "kind": event.kind.value,
        "platform_user_id": user,
        "event_id": storable_text(event.event_id)[:255],
        "occurred_at": event.occurred_at,
        "text": storable_text(event.text),
        "token": storable_text(event.token),
        "payload": storable_text(event.payload),
        "message_ids": [storable_text(message_id) for message_id in event.message_ids],
        "watermark": event.watermark,
        "reason": storable_text(event.reason),
        "user_name": storable_text(event.user_name),
        # Subscription.locale keeps 10 characters; a language tag this long means nothing.
        "locale": storable_text(event.locale)[:MAX_LOCALE],
        "raw": storable_json(event.raw),
    }
    clear = {}
    if settings.INBOUND_TOKEN_KEPT:
        # Each field on its own: a token may sit in the text or the raw body with no token
        # field naming it (WhatsApp's "Subscribe: <token>x" is no subscribe code).
        kept = import_string(settings.INBOUND_TOKEN_KEPT)
        for name in _MASKED:
            shown = _masked(fields[name], kept)
            if shown != fields[name]:
                clear[name], fields[name] = fields[name], shown
    for name in ("token", "reason", "user_name"):  # CharFields; cut after masking
        fields[name] = fields[name][:255]
    return fields, clear


_MASKED = ("token", "text", "payload", "reason", "user_name", "raw")


def _masked(value: Any, kept: Callable[[str], str]) -> Any:
    """`value` (decoded, storable JSON) with `kept` applied to every string, keys too."""
    if isinstance(value, str):
        return kept(value)
    if isinstance(value, dict):
        return {kept(key): _masked(item, kept) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, kept) for item in value]
    return value


def inbound_event_process(*, event: InboundEvent) -> list[Reply]:
    """Run the apps' handlers (INBOUND_EVENT_HANDLERS) on a stored event, once."""
    replies: list[Reply] = []
    with transaction.atomic():
        # Lock the row so two copies of one update arriving at once are handled once. Only
        # its id is read back: the handlers use `event` as it is (account cached, raw loaded).
        rows = InboundEvent.objects.select_for_update().filter(pk=event.pk, processed_at=None)
        if not rows.values_list("pk", flat=True):
            return []
        for path in settings.INBOUND_EVENT_HANDLERS:
            replies.extend(import_string(path)(event))
        event.processed_at = timezone.now()
        InboundEvent.objects.filter(pk=event.pk).update(processed_at=event.processed_at)
    return replies
