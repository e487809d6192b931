"""WhatsApp message templates: synced from the WhatsApp Business Management API
(GET /<version>/<WABA_ID>/message_templates: name, language code, category, status,
components), and the language code a send uses for a customer.

Read by marketers in admin (not on the send path), so this uses requests, page by page.
"""

import re

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import WhatsAppTemplate
from channels.models import ChannelAccount

TIMEOUT = 10
PAGE = 100
PARAMETER = re.compile(r"\{\{(\d+)\}\}")
# What a template parameter may be filled with: the campaign's placeholders, picked from a list.
PARAMETER_FIELDS = {
    "{name}": "Customer name",
    "{order}": "Order number",
    "{items}": "Order items",
    "{link}": "Tracked link to the campaign page",
}


class TemplateSyncError(Exception):
    """The Management API could not be read; the message says why."""


def whatsapp_templates_sync(*, account: ChannelAccount) -> int:
    """Replace the account's stored templates with the API's list; return how many."""
    waba_id = (account.credentials or {}).get("waba_id")
    token = (account.credentials or {}).get("token")
    if account.kind != "whatsapp" or not waba_id or not token:
        raise TemplateSyncError(f"{account}: needs a WhatsApp account with waba_id and token")
    base = account.api_base or settings.GRAPH_API_BASE
    url = f"{base}/{settings.GRAPH_API_VERSION}/{waba_id}/message_templates"
    params: dict | None = {"limit": PAGE, "fields": "name,language,category,status,components"}
    found = []
    while url:
        try:
            response = requests.get(
                url, params=params, timeout=TIMEOUT, headers={"Authorization": f"Bearer {token}"}
            )
        except requests.RequestException as exc:
            raise TemplateSyncError(f"{account}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise TemplateSyncError(f"{account}: the API answered {response.status_code}")
        page = response.json()
        found += [t for t in page.get("data", []) if isinstance(t, dict)]
        url, params = (page.get("paging") or {}).get("next"), None  # `next` carries its query
    now = timezone.now()
    with transaction.atomic():
        WhatsAppTemplate.objects.filter(account=account).delete()
        WhatsAppTemplate.objects.bulk_create(
            [_template(account, data, now) for data in found], ignore_conflicts=True
        )
    return len(found)


def _template(account: ChannelAccount, data: dict, now) -> WhatsAppTemplate:
    body = next(
        (c.get("text", "") for c in data.get("components") or [] if c.get("type") == "BODY"), ""
    )
    numbers = {int(n) for n in PARAMETER.findall(body)}
    return WhatsAppTemplate(
        account=account,
        name=str(data.get("name", ""))[:512],
        language=str(data.get("language", ""))[:20],
        category=str(data.get("category", ""))[:30],
        status=str(data.get("status", ""))[:30],
        parameters=max(numbers, default=0),
        body=body,
        synced_at=now,
    )
