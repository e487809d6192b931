"""A campaign's life after launch: its send ledger is kept (archive, never delete), its
content is fixed once it went out (duplicate to change it)."""

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignVersion, Delivery

# Fields a launched campaign keeps: what kind of message it is and to whom it may go.
LOCKED_FIELDS = ("kind", "category", "topic")
# The message itself may change after launch: each edit keeps the version it replaces
# (CampaignVersion), which the deliveries sent until then got; rows not yet sent get the new one
# (the dispatcher reads the campaign's content at the moment of sending).
VERSIONED_FIELDS = (
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


def campaign_version_keep(
    *, before: Campaign, after: Campaign, user: object = None
) -> CampaignVersion | None:
    """If a launched campaign's message changed, keep the one it replaces as a version."""
    if before.launched_at is None:
        return None
    old = {name: getattr(before, name) for name in VERSIONED_FIELDS}
    if old == {name: getattr(after, name) for name in VERSIONED_FIELDS}:
        return None
    last = CampaignVersion.objects.filter(campaign=before).order_by("-number").first()
    return CampaignVersion.objects.create(
        campaign=before,
        number=(last.number + 1) if last else 1,
        fields=old,
        used_from=last.used_until if last else before.launched_at,
        used_until=timezone.now(),
        replaced_by=user if getattr(user, "pk", None) else None,
    )


def campaign_versions(campaign: Campaign) -> list[dict]:
    """The kept versions and the current one, each with how many deliveries were sent with it."""
    sent = Delivery.objects.filter(campaign=campaign, state=Delivery.State.SENT)
    rows = []
    for version in CampaignVersion.objects.filter(campaign=campaign):
        window = sent.filter(sent_at__gte=version.used_from, sent_at__lt=version.used_until)
        rows.append(
            {
                "number": version.number,
                "from": version.used_from,
                "until": version.used_until,
                "sent": window.count(),
                "text": _default_text(version.fields.get("content")),
                "by": version.replaced_by,
            }
        )
    if rows:
        rows.append(
            {
                "number": len(rows) + 1,
                "from": rows[-1]["until"],
                "until": None,
                "sent": sent.filter(sent_at__gte=rows[-1]["until"]).count(),
                "text": _default_text(campaign.content),
                "by": None,
            }
        )
    return rows


def _default_text(content: object) -> str:
    message = content.get("default") if isinstance(content, dict) else None
    return str(message.get("text", "")) if isinstance(message, dict) else ""
