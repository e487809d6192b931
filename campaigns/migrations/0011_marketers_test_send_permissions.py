"""Marketers link their own test chats and send drafts to them."""

from django.db import migrations

CODENAMES = ["add_testrecipient", "view_testrecipient", "delete_testrecipient",
             "add_testsend", "view_testsend"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("campaigns")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Marketers")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="campaigns", codename__in=CODENAMES)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_test_recipients_and_sends"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
