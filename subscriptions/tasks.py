"""Subscriptions' periodic tasks: thin, each calls one service."""

import logging

from celery import shared_task

from subscriptions.privacy.retention import retention_purge

log = logging.getLogger(__name__)


@shared_task(name="subscriptions.retention_purge")
def retention_purge_task() -> None:
    """Purge what is past its retention (beat, hourly; a run is bounded in time)."""
    deleted = retention_purge()
    if any(deleted.values()):
        log.info("retention purge: %s", deleted)
