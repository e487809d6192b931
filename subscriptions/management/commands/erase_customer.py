"""`manage.py erase_customer EXTERNAL_ID`: erase one person (README, "Privacy and security")."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.models import Customer
from subscriptions.privacy.erasure import customer_erase, erasure_find


class Command(BaseCommand):
    help = "Erase everything about a customer (by the shop's id), keeping orders and statistics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("external_id", help="The shop's id of the customer")
        parser.add_argument("--by", default="command", help="Who asked, for the erasure log")

    def handle(self, *args, external_id: str, by: str, **options) -> None:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is not None:
            log = customer_erase(customer=customer, requested_by=f"command:{by}")
        else:
            log = erasure_find(external_id=external_id)
            if log is None:
                raise CommandError(f"no customer {external_id!r}")
            self.stderr.write(f"customer {external_id!r} was erased before; nothing changed")
        self.stdout.write(
            json.dumps(
                {
                    "erased_at": log.erased_at.isoformat(),
                    "requested_by": log.requested_by,
                    "removed": log.removed,
                },
                sort_keys=True,
            )
        )
