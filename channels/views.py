from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from channels.inbound import webhook_receive
from channels.models import ChannelAccount
from channels.providers.base import WebhookRequest
from config.bodies import declared_length
from config.recent_rows import RecentRows

ACCOUNT_CACHE_SECONDS = 5.0
# Every update names its account: with the decryption of its secrets, the look-up was a fifth
# of a webhook's cost. An account disabled or re-keyed in another process is seen within that.
_accounts: RecentRows[ChannelAccount | None] = RecentRows(ACCOUNT_CACHE_SECONDS)


@receiver([post_save, post_delete], sender=ChannelAccount)
def forget_accounts(**_: object) -> None:
    _accounts.forget()


@csrf_exempt  # platforms cannot send CSRF tokens; every provider verifies its own signature
def webhook(request: HttpRequest, account: str) -> HttpResponse:
    channel = _accounts.get(
        account, lambda: ChannelAccount.objects.filter(name=account, enabled=True).first()
    )
    if channel is None:
        # Plain text for a machine: the HTML error page costs more than storing an update.
        return HttpResponse("no such account", status=404, content_type="text/plain")
    if declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return HttpResponse("payload too large", status=413)
    incoming = WebhookRequest(
        method=request.method or "GET",
        body=request.body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query={key: request.GET[key] for key in request.GET},
    )
    return webhook_receive(account=channel, request=incoming)
