"""The sandbox web chat: one page and the two JSON endpoints its script calls.

The page is same-origin, so the endpoints keep Django's CSRF check (the script sends the token).
The browser never sees the account's webhook secret: the events view signs on its behalf.
"""

import json
import re
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET, require_POST

from channels.models import ChannelAccount, SandboxMessage
from channels.providers.sandbox.provider import DEFAULT_ACCOUNT
from channels.sandbox.serializers import SandboxEventIn
from channels.sandbox.services import sandbox_event_post
from config.bodies import declared_length

CONVERSATION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_EVENT_BYTES = 16 * 1024
PAGE_SIZE = 200  # messages per poll; the page asks again from the last id it got


@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    """The chat page; without a start token or a conversation, a short explanation."""
    account = _account(request)
    query = request.GET.copy()
    if "start" not in query and "c" not in query:
        demo = query.copy()
        demo["start"] = ""
        return render(
            request,
            "channels/sandbox/landing.html",
            {"account": account, "demo_url": f"{request.path}?{demo.urlencode()}"},
        )
    if not CONVERSATION.match(query.get("c", "")):
        # A fresh conversation per opened link; its id in the URL makes reloads resume it.
        query["c"] = secrets.token_urlsafe(16)
        return redirect(f"{request.path}?{query.urlencode()}")
    conversation = query["c"]
    suffix = "" if account.name == DEFAULT_ACCOUNT else f"?account={account.name}"
    config = {
        "conversation": conversation,
        "start": query.get("start"),  # None: resume only, post no start event
        "eventsUrl": reverse("channels:sandbox-events", args=[conversation]) + suffix,
        "messagesUrl": reverse("channels:sandbox-messages", args=[conversation]) + suffix,
        "strings": {
            "started": gettext("You opened the link: the conversation has started."),
            "sendFailed": gettext("Could not send. Please try again."),
            "offline": gettext("Connection lost, retrying…"),
            "online": gettext("bot"),
            "opensNewTab": gettext("Opens in a new tab"),
        },
    }
    return render(request, "channels/sandbox/chat.html", {"account": account, "config": config})


@require_POST
def events(request: HttpRequest, conversation: str) -> HttpResponse:
    """The customer did something on the page: record it and deliver it like a platform."""
    account = _account(request)
    if not CONVERSATION.match(conversation):
        return _invalid({"conversation": ["Not a sandbox conversation id."]})
    if declared_length(request) > MAX_EVENT_BYTES:
        return JsonResponse({"error": "payload too large"}, status=413)
    if len(request.body) > MAX_EVENT_BYTES:  # a chunked body carries no Content-Length
        return JsonResponse({"error": "payload too large"}, status=413)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _invalid({"body": ["Not JSON."]})
    if not isinstance(data, dict):
        return _invalid({"body": ["Expected a JSON object."]})
    event = SandboxEventIn(data=data)
    if not event.is_valid():
        return _invalid(event.errors)
    return sandbox_event_post(
        account=account,
        conversation=conversation,
        event=dict(event.validated_data),
        locale=get_language() or "",
    )


@require_GET
def messages(request: HttpRequest, conversation: str) -> JsonResponse:
    """The conversation's lines after id `after`, oldest first: what the page polls."""
    account = _account(request)
    if not CONVERSATION.match(conversation):
        return _invalid({"conversation": ["Not a sandbox conversation id."]})
    after = request.GET.get("after", "0")
    if not after.isdecimal() or not after.isascii():  # isdigit() takes "²" too
        return _invalid({"after": ["Expected a message id (a whole number)."]})
    rows = SandboxMessage.objects.filter(
        account=account, conversation=conversation, pk__gt=int(after)
    ).order_by("pk")[:PAGE_SIZE]
    lines = [
        {
            "id": row.pk,
            "direction": row.direction,
            "body": row.body,
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
    return JsonResponse(lines, safe=False)


def _account(request: HttpRequest) -> ChannelAccount:
    if not settings.SANDBOX_ENABLED:
        # Off in production: the chat page would let anyone talk to the bot as a customer.
        raise Http404("the sandbox is off")
    name = request.GET.get("account") or DEFAULT_ACCOUNT
    return get_object_or_404(ChannelAccount, name=name, kind="sandbox", enabled=True)


def _invalid(errors: dict) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)
