from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from channels.errors import SendError
from channels.links import webhook_url
from channels.models import ChannelAccount
from channels.providers import PROVIDERS
from channels.providers.base import Provider


class Command(BaseCommand):
    help = "Create or update a channel account, register its webhook and print the webhook URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(PROVIDERS))
        parser.add_argument("name", help="slug used in the webhook URL, e.g. shop-telegram")
        parser.add_argument(
            "--credential", action="append", default=[], metavar="KEY=VALUE",
            help="repeatable; keys per kind are listed in the README. On an existing account "
            "the keys given replace the stored ones and the others are kept",
        )  # fmt: skip
        parser.add_argument("--api-base", default=None, help="platform API base URL override")
        parser.add_argument("--rate-limit", type=float, default=None, help="sends per second")
        parser.add_argument("--no-webhook", action="store_true", help="do not register the webhook")
        parser.add_argument("--disable", action="store_true", help="store the account disabled")

    def handle(self, *args, kind: str, name: str, credential: list[str], **options) -> None:
        provider_cls = PROVIDERS[kind]
        given = _parse_credentials(credential, provider_cls.credential_keys)
        with transaction.atomic():
            account = ChannelAccount.objects.select_for_update().filter(name=name).first()
            if account is not None and account.kind != kind:
                raise CommandError(f"account {name!r} exists with kind {account.kind!r}")
            account = account or ChannelAccount(kind=kind, name=name)
            account.credentials = {**(account.credentials or {}), **given}
            _check_credentials(provider_cls, account.credentials, webhook=not options["no_webhook"])
            if options["api_base"] is not None:
                account.api_base = options["api_base"]
            if options["rate_limit"] is not None:
                if options["rate_limit"] <= 0:
                    raise CommandError("--rate-limit must be positive")
                account.rate_limit = options["rate_limit"]
            account.enabled = not options["disable"]
            account.full_clean()
            account.save()
        url = webhook_url(account)
        if not options["no_webhook"]:
            try:
                account.provider().register_webhook(url)
            except SendError as exc:
                raise CommandError(f"webhook registration failed: {exc.reason}") from exc
            if not provider_cls.tracking_path:
                self.stderr.write(f"webhook registered with {kind} for {name}")
        self.stdout.write(url)


def _check_credentials(
    provider_cls: type[Provider], credentials: dict[str, str], *, webhook: bool
) -> None:
    """Refuse, before anything is saved, an account that lacks a credential it needs."""
    missing = [key for key in provider_cls.required_credentials if not credentials.get(key)]
    if missing:
        raise CommandError(f"{provider_cls.kind} needs --credential for: {', '.join(missing)}")
    missing = [key for key in provider_cls.webhook_credentials if not credentials.get(key)]
    if webhook and missing:
        raise CommandError(
            f"{provider_cls.kind} needs --credential for: {', '.join(missing)} to register "
            "its webhook (or pass --no-webhook)"
        )


def _parse_credentials(pairs: list[str], allowed: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--credential {pair!r}: expected KEY=VALUE")
        if key not in allowed:
            raise CommandError(f"unknown credential {key!r}; expected one of {', '.join(allowed)}")
        values[key] = value
    return values
