"""The inbound path every platform shares: verify, parse, store once, hand to the apps."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string

from channels.errors import MalformedPayload
from channels.events import NormalizedEvent
from channels.models import ChannelAccount, InboundEvent
from channels.providers.base import Reply, WebhookRequest

log = logging.getLogger(__name__)


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
    except MalformedPayload as exc:
        log.warning("webhook for %s rejected: %s", account.name, exc)
        return HttpResponse(f"malformed payload: {exc}", status=400)
    replies: list[Reply] = []
    for row in _store(account, events):
        replies.extend(inbound_event_process(event=row))
    response, to_send = provider.respond(events, replies)
    if to_send:
        from channels.tasks import send_reply

        for reply in to_send:
            transaction.on_commit(
                lambda reply=reply: send_reply.delay(
                    account.pk, reply.platform_user_id, reply.message.to_dict()
                )
            )
    return response


def _store(account: ChannelAccount, events: list[NormalizedEvent]) -> list[InboundEvent]:
    """Rows to act on: new events, and earlier copies that were stored but never processed."""
    rows = []
    for event in events:
        try:
            with transaction.atomic():
                rows.append(InboundEvent.objects.create(account=account, **_fields(event)))
        except IntegrityError:
            earlier = InboundEvent.objects.get(account=account, event_id=event.event_id)
            if earlier.processed_at is None:
                rows.append(earlier)
    return rows


def _fields(event: NormalizedEvent) -> dict:
    return {
        "kind": event.kind.value,
        "platform_user_id": event.platform_user_id,
        "event_id": event.event_id[:255],
        "occurred_at": event.occurred_at,
        "text": event.text,
        "token": event.token[:255],
        "payload": event.payload,
        "message_ids": list(event.message_ids),
        "watermark": event.watermark,
        "reason": event.reason[:255],
        "user_name": event.user_name[:255],
        "locale": event.locale[:20],
        "raw": event.raw,
    }


def inbound_event_process(*, event: InboundEvent) -> list[Reply]:
    """Run the apps' handlers (INBOUND_EVENT_HANDLERS) on a stored event, once."""
    replies: list[Reply] = []
    with transaction.atomic():
        # Lock the row so two copies of one update arriving at once are handled once.
        locked = InboundEvent.objects.select_for_update().get(pk=event.pk)
        if locked.processed_at is not None:
            return []
        for path in settings.INBOUND_EVENT_HANDLERS:
            replies.extend(import_string(path)(locked))
        locked.processed_at = timezone.now()
        locked.save(update_fields=["processed_at"])
    return replies
