"""Channel secrets are encrypted at rest: the database holds no plain credential, rotation keeps
every account working, and production refuses to start without a key."""

import io
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from channels.models import ChannelAccount, InboundEvent
from channels.providers import PROVIDERS
from tests.factories import CREDENTIALS, ChannelAccountFactory
from tests.subscriptions.hooks import payload, post_hook

pytestmark = pytest.mark.django_db
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
# A text message from each platform's captured fixtures: verified with the account's secrets.
MESSAGES = {"telegram": "message_text", "messenger": "text", "viber": "message_text",
            "vk": "message_new_text", "whatsapp": "text"}  # fmt: skip


def stored(account: ChannelAccount) -> tuple[str, str]:
    """The credentials and webhook secret columns as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials::text, webhook_secret FROM channels_channelaccount WHERE id = %s",
            [account.pk],
        )
        return cursor.fetchone()


@pytest.fixture
def accounts(settings):
    # The test database's own rows (the sandbox account) are under the suite's key.
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    return [ChannelAccountFactory(kind=kind, name=f"shop-{kind}") for kind in PROVIDERS]


def test_the_database_holds_no_plain_credential(accounts):
    for account in accounts:
        credentials, secret = stored(account)
        for value in [*CREDENTIALS[account.kind].values(), account.webhook_secret]:
            assert value not in credentials and value not in secret
        assert credentials.startswith("gAAAAA") and secret.startswith("gAAAAA")
        # and the model reads them back as they were written
        fresh = ChannelAccount.objects.get(pk=account.pk)
        assert fresh.credentials == CREDENTIALS[account.kind]
        assert fresh.webhook_secret == account.webhook_secret


def test_rotation_keeps_every_account_working(client, accounts, settings):
    before = {a.pk: (a.credentials, a.webhook_secret) for a in ChannelAccount.objects.all()}
    # given a new key put first, the old ones still listed
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]

    # when the values are re-encrypted
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert f"re-encrypted {len(before)} row(s)" in out.getvalue()

    # then the old key can go: every value opens with the new one alone
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    for account in ChannelAccount.objects.all():
        for value in stored(account):
            Fernet(NEW_KEY).decrypt(value.encode())
            with pytest.raises(InvalidToken):
                Fernet(OLD_KEY).decrypt(value.encode())
    after = {a.pk: (a.credentials, a.webhook_secret) for a in ChannelAccount.objects.all()}
    assert after == before
    # and each platform's signed webhook is still verified with the stored secrets
    for account in ChannelAccount.objects.filter(kind__in=MESSAGES):
        body = payload(account.kind, MESSAGES[account.kind])
        assert post_hook(client, account, body).status_code == 200, account.kind
    assert InboundEvent.objects.values("account").distinct().count() == len(MESSAGES)


def test_a_value_no_listed_key_opens_is_a_clear_error(accounts, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    with pytest.raises(Exception, match="cannot be decrypted with FIELD_ENCRYPTION_KEYS"):
        ChannelAccount.objects.get(pk=accounts[0].pk)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off"),
        ({"DEBUG": "0", "FIELD_ENCRYPTION_KEYS": "short"}, "key 1 is not a Fernet key"),
        ({"DEBUG": "1"}, ""),
    ],
)
def test_production_refuses_to_start_without_a_key(env, message):
    base = {k: v for k, v in os.environ.items() if k not in ("FIELD_ENCRYPTION_KEYS", "DEBUG")}
    code = "import django; django.setup()"

    run = subprocess.run(
        [sys.executable, "-c", code], env=base | env, capture_output=True, text=True
    )

    if message:
        assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr
        assert message in run.stderr
    else:
        assert run.returncode == 0, run.stderr


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_plain_rows():
    executor = MigrationExecutor(connection)
    before, after = (
        [("channels", "0004_inbound_marketing_kinds")],
        [("channels", "0005_encrypt_channel_secrets")],
    )
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO channels_channelaccount (kind, name, credentials, webhook_secret,"
                " api_base, enabled, created_at) VALUES ('telegram', 'old-bot',"
                ' \'{"token": "999:PLAIN", "username": "old_bot"}\', \'plain-secret\', \'\','
                " true, now())"
            )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        # Only the columns this migration knows: later migrations add fields not applied here.
        account = ChannelAccount.objects.only("credentials", "webhook_secret").get(name="old-bot")
        credentials, secret = stored(account)
        assert "PLAIN" not in credentials and "plain-secret" not in secret
        assert account.credentials == {"token": "999:PLAIN", "username": "old_bot"}
        assert account.webhook_secret == "plain-secret"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
