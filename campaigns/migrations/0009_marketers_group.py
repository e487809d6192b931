"""The `Marketers` group: build, preview, test-send, launch and watch campaigns; read
customers, orders, consent and survey answers. No channel credentials, no API keys, no edits
to the consent log (README: "For marketers")."""

from django.db import migrations

GROUP = "Marketers"
PERMISSIONS = {
    "campaigns": {
        "campaign": ("add", "change", "delete", "view"),
        "delivery": ("view",),
        "surveyanswer": ("view",),
        "linkclick": ("view",),
        "attribution": ("view",),
    },
    "subscriptions": {
        "customer": ("view",),
        "order": ("view",),
        "orderitem": ("view",),
        "orderevent": ("view",),
        "subscription": ("view",),
        "consentevent": ("view",),
    },
    "channels": {"sandboxmessage": ("view",)},
}


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally written after all migrations ran; write them now so a fresh
    # database gets a complete group.
    for label in ("campaigns", "subscriptions", "channels"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("campaigns", "0008_campaign_workspace_fields"),
        ("subscriptions", "0006_api_key_scope"),
        ("channels", "0005_encrypt_channel_secrets"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
