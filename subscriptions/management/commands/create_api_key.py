"""`manage.py create_api_key NAME`: print a new API key on stdout, alone, for scripts to capture."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key for the shop's backend; the key is printed once, never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who uses the key, e.g. the shop's name")
        parser.add_argument(
            "--scope",
            choices=ApiKey.Scope.values,
            default=ApiKey.Scope.WRITE,
            help="write (default): the shop's backend; read: campaigns and their stats only",
        )

    def handle(self, *args, name: str, scope: str, **options) -> None:
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(
                f"an API key named {name!r} exists; revoke it in admin or pick another"
            )
        api_key, key = ApiKey.issue(name, scope)
        # stdout carries only the key (KEY=$(manage.py create_api_key shop)); the rest is stderr.
        self.stdout.write(key)
        self.stderr.write(
            f"Created {scope} API key {api_key.name!r} ({api_key.prefix}…). Send it as "
            "'Authorization: Api-Key <key>'. It is not stored and will not be shown again."
        )
