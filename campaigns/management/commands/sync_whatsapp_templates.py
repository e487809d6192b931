from django.core.management.base import BaseCommand, CommandError

from campaigns.whatsapp_templates import TemplateSyncError, whatsapp_templates_sync
from channels.models import ChannelAccount


class Command(BaseCommand):
    help = "Sync every enabled WhatsApp account's message templates from the Management API."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", help="only this account (its name)")

    def handle(self, *args, **options) -> None:
        accounts = ChannelAccount.objects.filter(kind="whatsapp", enabled=True)
        if options["account"]:
            accounts = accounts.filter(name=options["account"])
        if not accounts.exists():
            raise CommandError("no enabled WhatsApp account")
        failed = False
        for account in accounts:
            try:
                count = whatsapp_templates_sync(account=account)
                self.stdout.write(f"{account.name}: {count} templates")
            except TemplateSyncError as exc:
                failed = True
                self.stderr.write(str(exc))
        if failed:
            raise CommandError("some accounts were not synced")
