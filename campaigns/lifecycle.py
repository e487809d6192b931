"""A campaign's life after launch: its send ledger is kept (archive, never delete), its
content is fixed once it went out (duplicate to change it)."""

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Delivery

# Fields a launched campaign keeps as they were: what its customers got must stay readable.
LOCKED_FIELDS = (
    "kind",
    "category",
    "topic",
    "content",
    "content_variants",
    "link_url",
    "whatsapp_template",
    "whatsapp_template_params",
    "whatsapp_template_buttons",
    "whatsapp_template_languages",
)
# Archiving stops nothing by itself: a running or scheduled campaign is paused first, so
# its waiting rows stay held (the dispatcher holds a paused campaign's rows).
ARCHIVABLE = (Campaign.Status.DRAFT, Campaign.Status.PAUSED, Campaign.Status.FINISHED)


class LifecycleRefused(Exception):
    """The campaign cannot be deleted or archived as asked; the message says why."""


def campaign_is_locked(campaign: Campaign) -> bool:
    """Once launched, a campaign's content is what its deliveries were made of."""
    return campaign.launched_at is not None


def campaign_delete_refusal(campaign: Campaign) -> str:
    """Why this campaign cannot be deleted ("" when it can): deleting it would erase the
    ledger of what was sent, which stats, attribution and "never twice" rely on."""
    count = Delivery.objects.filter(campaign=campaign).count()
    if not count:
        return ""
    return (
        f"“{campaign}” cannot be deleted: it has {count} "
        f"{'delivery' if count == 1 else 'deliveries'}, the record of what was sent. "
        "Archive it instead."
    )


def campaign_archive(*, campaign_id: int) -> Campaign:
    """Hide a draft, paused or finished campaign from the working list, ledger intact."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.archived_at is not None:
            return campaign
        if campaign.status not in ARCHIVABLE:
            raise LifecycleRefused(
                f"“{campaign}” is {campaign.status}: pause it before archiving it."
            )
        campaign.archived_at = timezone.now()
        campaign.save(update_fields=["archived_at", "updated_at"])
    return campaign


def campaign_duplicate(*, campaign_id: int) -> Campaign:
    """An editable draft copy: same content, audience, schedule and policies; no ledger."""
    with transaction.atomic():
        original = Campaign.objects.get(pk=campaign_id)
        accounts = list(original.accounts.all())
        copy = Campaign.objects.get(pk=campaign_id)
        copy.pk = None
        copy._state.adding = True
        copy.name = f"Copy of {original.name}"[:200]
        copy.status = Campaign.Status.DRAFT
        copy.launched_at = None
        copy.archived_at = None
        copy.expected_reach = None
        copy.save()
        copy.accounts.set(accounts)
    return copy
