"""`manage.py rotate_encryption_key`: re-encrypt every stored secret with the newest key.

Run it after putting a new key first in FIELD_ENCRYPTION_KEYS (the old ones still listed);
once it has run, the old keys can be dropped.
"""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from channels.encryption import rotated

# Every encrypted column, by table. Raw values: rotation never needs the plain text.
ENCRYPTED = {
    "channels_channelaccount": ("credentials", "webhook_secret"),
    "shopwebhooks_endpoint": ("secret", "previous_secret"),
}


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        count = 0
        for table, columns in ENCRYPTED.items():
            count += _rotate(table, columns)
        self.stdout.write(f"re-encrypted {count} row(s) with the newest key")


def _rotate(table: str, columns: tuple[str, ...]) -> int:
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    sets = ", ".join(f"{quote(column)} = %s" for column in columns)
    # Row locks, so a save between our read and our write cannot be overwritten.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {names} FROM {quote(table)} ORDER BY id{lock}")  # noqa: S608
        rows = cursor.fetchall()
        for pk, *values in rows:
            fresh = [rotated(value) for value in values]
            cursor.execute(f"UPDATE {quote(table)} SET {sets} WHERE id = %s", [*fresh, pk])  # noqa: S608
    return len(rows)
