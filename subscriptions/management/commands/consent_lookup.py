"""`manage.py consent_lookup IDENTIFIER [--at TIME]`: was this person subscribed then?

IDENTIFIER is `email:…`, `phone:…`, `customer:<shop's id>` or `chat:<kind>:<platform user
id>`; erased people are found by the keyed hash their erasure kept.
"""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from subscriptions.privacy.consent_lookup import consent_at
from subscriptions.privacy.identity import BadIdentifier


class Command(BaseCommand):
    help = "Answer 'was X subscribed at time T' from the consent log, for erased people too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("identifier", help="email:…, phone:…, customer:… or chat:<kind>:<id>")
        parser.add_argument("--at", help="ISO 8601 time with offset (default: now)")

    def handle(self, *args, identifier: str, at: str | None, **options) -> None:
        moment = timezone.now()
        if at:
            moment = parse_datetime(at)
            if moment is None or moment.tzinfo is None:
                raise CommandError("--at needs an ISO 8601 time with an offset")
        try:
            chats = consent_at(identifier=identifier, at=moment)
        except BadIdentifier as exc:
            raise CommandError(str(exc)) from None
        answer = {
            "at": moment.isoformat(),
            "subscribed": any(chat.subscribed for chat in chats),
            "chats": [chat.as_dict() for chat in chats],
        }
        self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2))
