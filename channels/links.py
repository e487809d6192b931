from django.conf import settings
from django.urls import reverse

from channels.models import ChannelAccount


def webhook_url(account: ChannelAccount) -> str:
    """The public URL the platform posts this account's events to."""
    path = reverse("channels:webhook", kwargs={"account": account.name})
    return f"{settings.PUBLIC_BASE_URL}{path}"
