"""Delivery reasons as a marketer reads them: the ledger keeps short codes (stats group by
them), lists show phrases."""

import re

PHRASES = {
    "holdout": "held out to measure the campaign's effect",
    "global holdout": "in the global holdout: never sent marketing, to measure the programme",
    "frequency cap": "already got enough marketing messages this week (frequency cap)",
    "quiet hours": "waiting for the customer's quiet hours to end",
    "already_ordered": "already ordered for the coming week",
    "expired_while_paused": "fell due long ago while the campaign was paused",
    "dispatcher died mid-send": "the sending worker stopped mid-send: may or may not have arrived",
}
PATTERNS = (
    (re.compile(r"^topic (\w+) not consented$"), "did not choose to get {0}"),
    (re.compile(r"^subscription (\w+)$"), "the chat is {0}"),
    (re.compile(r"^(\w+) window closed, no template$"), "{0}: the 24-hour window is closed and "
     "the campaign has no approved template"),
    (re.compile(r"^(\w+) window closed$"), "{0}: outside the platform's window for messages"),
)  # fmt: skip


def reason_phrase(reason: str) -> str:
    """A phrase for a recorded reason; an unknown one with its underscores as spaces."""
    if not reason:
        return ""
    if reason in PHRASES:
        return PHRASES[reason]
    for pattern, phrase in PATTERNS:
        match = pattern.match(reason)
        if match:
            return phrase.format(*(g.replace("_", " ") for g in match.groups()))
    return reason.replace("_", " ")
