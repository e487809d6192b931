from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from channels.inbound import webhook_receive
from channels.models import ChannelAccount
from channels.providers.base import WebhookRequest
from config.bodies import declared_length


@csrf_exempt  # platforms cannot send CSRF tokens; every provider verifies its own signature
def webhook(request: HttpRequest, account: str) -> HttpResponse:
    channel = get_object_or_404(ChannelAccount, name=account, enabled=True)
    if declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return HttpResponse("payload too large", status=413)
    incoming = WebhookRequest(
        method=request.method or "GET",
        body=request.body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query={key: request.GET[key] for key in request.GET},
    )
    return webhook_receive(account=channel, request=incoming)
