"""Resending `unknown` deliveries gets its own permission, given to marketers; a shop can take
it away from a marketer without taking their view of deliveries."""

from django.db import migrations

from campaigns.marketers import grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0015_campaign_versions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "permissions": [("resend_delivery", "Can resend unknown deliveries")],
                "verbose_name_plural": "deliveries",
            },
        ),
        grant_operation("campaigns", ["resend_delivery"]),
    ]
