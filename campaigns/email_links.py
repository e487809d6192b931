"""The links inside our e-mails (made by channels/providers/email/links.py): one-click
unsubscribe (RFC 8058), reply buttons as links, the open pixel.

Unsubscribing never happens on a GET: mail scanners and link previews fetch every URL in a
message. GET shows a page with the button; POST (the mail client's one-click, or that button)
unsubscribes. An action link (a survey score) is recorded on GET like a click in a chat, except
for known preview agents, and answers with a page saying what happened.
"""

import base64
import logging

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from campaigns.models import Delivery
from campaigns.tracking import PREVIEW_AGENTS
from channels.inbound import inbound_event_process
from channels.models import InboundEvent
from channels.providers.email.links import read
from subscriptions.services import subscription_stop

log = logging.getLogger(__name__)
# The smallest transparent GIF: what an open pixel answers.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
UNSUBSCRIBE_SOURCE = "email_unsubscribe"


def _delivery(token: str, kind: str) -> tuple[Delivery, list] | None:
    values = read(token, kind)
    if not values or not isinstance(values[0], int):
        return None
    delivery = (
        Delivery.objects.select_related("subscription__customer", "account")
        .filter(pk=values[0], account__kind="email")
        .first()
    )
    return (delivery, values[1:]) if delivery else None


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/email/link_invalid.html", status=404)


@csrf_exempt  # RFC 8058: the mail client POSTs without cookies or a form token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = _delivery(token, "u")
    if found is None:
        return _invalid(request)
    subscription = found[0].subscription
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        evidence = "List-Unsubscribe one-click" if one_click else "unsubscribe page"
        subscription_stop(subscription=subscription, source=UNSUBSCRIBE_SOURCE, evidence=evidence)
        return render(
            request, "campaigns/email/unsubscribed.html", {"address": subscription.platform_user_id}
        )
    context = {"address": subscription.platform_user_id, "active": subscription.is_active}
    return render(request, "campaigns/email/unsubscribe.html", context)


@require_safe
def action(request: HttpRequest, token: str) -> HttpResponse:
    """A reply button pressed from an e-mail: the same handlers as a press in a chat."""
    found = _delivery(token, "a")
    if found is None or not found[1] or not isinstance(found[1][0], str):
        return _invalid(request)
    delivery, (payload, *_) = found
    agent = request.headers.get("user-agent", "").lower()
    if request.method != "GET" or any(bot in agent for bot in PREVIEW_AGENTS):
        return render(request, "campaigns/email/action_done.html", {"replies": []})
    now = timezone.now()
    event, _ = InboundEvent.objects.get_or_create(
        account=delivery.account,
        event_id=f"email-action:{token}"[:255],
        defaults={
            "kind": "button",
            "platform_user_id": delivery.subscription.platform_user_id,
            "occurred_at": now,
            "payload": payload,
        },
    )
    _opened(delivery.pk)  # pressing a link in it means it was opened
    replies = inbound_event_process(event=event)
    texts = [reply.message.text for reply in replies if reply.message.text]
    return render(request, "campaigns/email/action_done.html", {"replies": texts})


@require_safe
def opened(request: HttpRequest, token: str) -> HttpResponse:
    found = _delivery(token, "o")
    if found is not None:
        _opened(found[0].pk)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def _opened(delivery_id: int) -> None:
    """An open says it was delivered too; the first one stays."""
    now = timezone.now()
    Delivery.objects.filter(
        Q(read_at__isnull=True) | Q(delivered_at__isnull=True), pk=delivery_id
    ).update(read_at=Coalesce("read_at", now), delivered_at=Coalesce("delivered_at", now))


def test_send(request: HttpRequest) -> HttpResponse:
    """Where a test send's links point: they belong to no delivery."""
    return render(request, "campaigns/email/test_send.html")
