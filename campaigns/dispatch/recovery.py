"""Recovering rows a dead dispatcher left behind; only ever done while holding the lease.

`claimed` and `queued` rows never left (a row is `sending` only once its pacing slot is
granted, just before its request goes): they go back to due. `sending` rows may have reached
the platform: only VK dedupes a resend (random_id = delivery id), so only there are they
retried; elsewhere those the dead owner's send journal (journal.py) shows it never started are
due again, and the rest become `unknown`, counted and shown, never silently re-sent.
"""

import logging
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.dispatch import journal
from campaigns.dispatch.claim import HELD_STATES, LEFT_STATES
from campaigns.dispatch.lease import Lease, new_owner
from campaigns.models import Delivery, DispatchLease
from channels.models import ChannelAccount
from channels.providers import PROVIDERS

log = logging.getLogger(__name__)
State = Delivery.State
# Platforms whose send API dedupes a repeated request (Provider.idempotent_sends: VK's
# messages.send random_id). The dispatcher passes the delivery id.
IDEMPOTENT_KINDS = frozenset(kind for kind, cls in PROVIDERS.items() if cls.idempotent_sends)


@dataclass(frozen=True)
class Recovered:
    pending: int = 0  # claimed or queued, never sent: due again
    resent: int = 0  # sending on an idempotent platform: due again
    unsent: int = 0  # sending, but the owner's journal shows it never started: due again
    unknown: int = 0  # sending elsewhere: ambiguous

    def __bool__(self) -> bool:
        return bool(self.pending or self.resent or self.unsent or self.unknown)


def recover_account(account: ChannelAccount, *, owner: str) -> Recovered:
    """Take back every row another owner left claimed or sending (call with the lease held)."""
    stale = Delivery.objects.filter(account_id=account.pk).exclude(claimed_by=owner)
    pending = stale.filter(state__in=HELD_STATES).update(state=State.PENDING, claimed_by="")
    in_flight = stale.filter(state=State.SENDING)
    resent = unsent = unknown = 0
    if account.kind in IDEMPOTENT_KINDS:
        resent = in_flight.update(state=State.PENDING, claimed_by="", sent_at=None)
    else:
        owners: dict[str, list[int]] = {}
        for claimed_by, pk in in_flight.values_list("claimed_by", "pk"):
            owners.setdefault(claimed_by, []).append(pk)
        never: set[int] = set()
        read: list[str] = []  # owners whose journal told us; forgotten once the rows moved
        for dead, ids in owners.items():
            known = journal.never_left(dead, ids)
            if known is not None:
                never |= known
                read.append(dead)
        if never:
            unsent = in_flight.filter(pk__in=never).update(
                state=State.PENDING, claimed_by="", sent_at=None
            )
        # claimed_by stays: if that owner is alive after all and learns the answer, it wins.
        unknown = in_flight.exclude(pk__in=never).update(
            state=State.UNKNOWN, reason="dispatcher died mid-send"
        )
        for dead in read:
            journal.forget(dead)
    recovered = Recovered(pending, resent, unsent, unknown)
    if recovered:
        log.warning("account %s: recovered rows of a dead dispatcher: %s", account.pk, recovered)
    return recovered


def sweep() -> dict[int, Recovered]:
    """Recover accounts whose rows are stuck under an expired lease, taking the lease to do it."""
    now = timezone.now()
    stuck = Delivery.objects.filter(account=OuterRef("pk"), state__in=LEFT_STATES)
    live = DispatchLease.objects.filter(account=OuterRef("pk"), expires_at__gt=now).exclude(
        owner=""
    )
    accounts = ChannelAccount.objects.filter(Exists(stuck)).filter(~Q(Exists(live)))
    journal.prune()
    done: dict[int, Recovered] = {}
    for account in accounts:
        lease = Lease(account.pk, new_owner("sweep:"))
        if not lease.acquire():
            continue  # a dispatcher just took it; it recovers on its own
        try:
            done[account.pk] = recover_account(account, owner=lease.owner)
        finally:
            lease.release()
    return done
