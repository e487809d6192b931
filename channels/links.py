from django.conf import settings
from django.urls import reverse

from channels.models import ChannelAccount


def webhook_url(account: ChannelAccount) -> str:
    """The public URL the platform posts this account's events to."""
    from channels.providers import PROVIDERS

    if PROVIDERS[account.kind].tracking_path:
        return f"{settings.PUBLIC_BASE_URL}{PROVIDERS[account.kind].tracking_path}"
    path = reverse("channels:webhook", kwargs={"account": account.name})
    return f"{settings.PUBLIC_BASE_URL}{path}"
