"""Marketers read and sync WhatsApp templates (syncing needs no credentials of theirs)."""

from django.db import migrations


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
        *Permission.objects.filter(
            content_type__app_label="campaigns", codename="view_whatsapptemplate"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0013_whatsapp_template_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
