"""Channel credentials and webhook secrets move to encrypted columns; existing rows are
encrypted in place (channels/encryption.py). Raw SQL, so no model field logic is involved."""

import channels.encryption
import channels.models
from django.db import migrations

FERNET_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 + timestamp)


def _rows(schema_editor):
    table = schema_editor.quote_name("channels_channelaccount")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, credentials, webhook_secret FROM {table}")  # noqa: S608
        return table, cursor.fetchall()


def encrypt_existing(apps, schema_editor):
    table, rows = _rows(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        for pk, credentials, secret in rows:
            values = [
                value if value.startswith(FERNET_PREFIX) else channels.encryption.encrypt(value)
                for value in (credentials or "{}", secret or "")
            ]
            cursor.execute(
                f"UPDATE {table} SET credentials = %s, webhook_secret = %s WHERE id = %s",  # noqa: S608
                [*values, pk],
            )


def decrypt_existing(apps, schema_editor):
    table, rows = _rows(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        for pk, credentials, secret in rows:
            values = [channels.encryption.decrypt(value) for value in (credentials, secret)]
            cursor.execute(
                f"UPDATE {table} SET credentials = %s, webhook_secret = %s WHERE id = %s",  # noqa: S608
                [*values, pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0004_inbound_marketing_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channelaccount",
            name="credentials",
            field=channels.encryption.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="channelaccount",
            name="webhook_secret",
            field=channels.encryption.EncryptedTextField(
                default=channels.models.new_webhook_secret
            ),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
