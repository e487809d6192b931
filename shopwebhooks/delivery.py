"""Delivering events to the shop's endpoints: signed POSTs, retried with backoff for a day.

At least once: an attempt is claimed (its next try pushed past the request's timeout) and
committed before the request leaves, so a worker that dies mid-request leaves the row to be
tried again, and two workers never send the same row at once (SKIP LOCKED). The shop dedupes by
the `Idempotency-Key` header, the event's id, which every attempt of it carries.
"""

import datetime as dt
import json
import logging
import random
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.wakeups import wake_once
from shopwebhooks.emit import DELIVER_TASK
from shopwebhooks.models import WebhookDelivery
from shopwebhooks.signing import HEADER, signature_header

log = logging.getLogger(__name__)
State = WebhookDelivery.State
BATCH = 20
FIRST_RETRY = dt.timedelta(seconds=15)
LONGEST_WAIT = dt.timedelta(hours=4)
USER_AGENT = "Comeback-Webhooks/1"
RECORDED = [
    "state",
    "delivered_at",
    "next_attempt_at",
    "last_attempt_at",
    "last_status",
    "last_error",
]


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure: 15 s, 30 s, 1 min … doubling up to 4 h, with
    ±20% jitter so endpoints that failed together do not retry together."""
    base = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
    return base * random.uniform(0.8, 1.2)


def retry_until(row: WebhookDelivery) -> dt.datetime:
    """The last attempt's time (settings.SHOP_WEBHOOK_RETRY_HOURS after the event): a failure
    then gives up."""
    return row.event.occurred_at + dt.timedelta(hours=settings.SHOP_WEBHOOK_RETRY_HOURS)


def body(row: WebhookDelivery) -> bytes:
    event = row.event
    payload = {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def headers(row: WebhookDelivery, content: bytes, *, now: dt.datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": str(row.event_id),
        "Comeback-Event": row.event.type,
        HEADER: signature_header(
            secrets=row.endpoint.signing_secrets(now), timestamp=int(now.timestamp()), body=content
        ),
    }


@dataclass(frozen=True)
class Result:
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver_due(*, limit: int = 200) -> int:
    """Attempt due deliveries, a batch at a time, up to `limit`; how many were attempted."""
    done = 0
    while done < limit:
        rows = _claim(min(BATCH, limit - done))
        if not rows:
            break
        for row in rows:
            _record(row, attempt(row))
        done += len(rows)
    return done


def attempt(row: WebhookDelivery) -> Result:
    """One POST of the row's event to its endpoint; never raises for the endpoint's faults."""
    now = timezone.now()
    content = body(row)
    try:
        answer = requests.post(
            row.endpoint.url,
            data=content,
            headers=headers(row, content, now=now),
            timeout=settings.SHOP_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,  # a redirect is an answer to fix, not to follow with a body
        )
    except requests.Timeout:
        return Result(None, f"timed out after {settings.SHOP_WEBHOOK_TIMEOUT_SECONDS}s")
    except requests.RequestException as exc:
        return Result(None, f"{type(exc).__name__}: {exc}"[:255])
    return Result(answer.status_code, "" if answer.ok else f"HTTP {answer.status_code}")


def _claim(limit: int) -> list[WebhookDelivery]:
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.SHOP_WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=State.PENDING, next_attempt_at__lte=now)
            .select_related("event", "endpoint")
            .order_by("next_attempt_at")[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = lease  # if we die mid-request, the row is due again then
        WebhookDelivery.objects.bulk_update(rows, ["attempts", "next_attempt_at"])
    return rows


def _record(row: WebhookDelivery, result: Result) -> None:
    now = timezone.now()
    row.last_status, row.last_error, row.last_attempt_at = result.status, result.error, now
    if result.ok:
        row.state, row.delivered_at = State.DELIVERED, now
    else:
        until = retry_until(row)
        if now >= until:
            row.state = State.GAVE_UP
            log.warning("webhook %s to %s gave up: %s", row.event_id, row.endpoint, result.error)
        else:  # the last try is at `until` itself: the retries span the whole time
            row.next_attempt_at = min(now + retry_delay(row.attempts), until)
    # Only this attempt's own claim: a later attempt (after the lease ran out) or a delivery
    # recorded meanwhile is never overwritten by a slow one.
    mine = WebhookDelivery.objects.filter(pk=row.pk, attempts=row.attempts, state=State.PENDING)
    mine.update(**{field: getattr(row, field) for field in RECORDED})


def resend(rows: "list[WebhookDelivery]") -> int:
    """Queue a fresh attempt now for each row (same event, so the same idempotency key)."""
    ids = [row.pk for row in rows]
    count = WebhookDelivery.objects.filter(pk__in=ids).update(
        state=State.PENDING, next_attempt_at=timezone.now()
    )
    transaction.on_commit(lambda: wake_once(DELIVER_TASK), robust=True)
    return count
