"""The `Marketers` group's grants, for data migrations (README: "For marketers").

A migration that gives marketers a new permission calls `grant_operation(...)`; the function
works only with the migration's historical models, so it stays valid as models change.
"""

from collections.abc import Iterable

from django.db import migrations

GROUP = "Marketers"


def _grant(apps, app_label: str, codenames: tuple[str, ...]) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally written after all migrations ran; write them now so the group
    # is complete on a fresh database too.
    config = apps.get_app_config(app_label)
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )


def grant_operation(app_label: str, codenames: Iterable[str]) -> migrations.RunPython:
    """A migration operation adding these permissions of one app to the `Marketers` group."""
    wanted = tuple(codenames)

    def grant(apps, schema_editor) -> None:
        _grant(apps, app_label, wanted)

    return migrations.RunPython(grant, migrations.RunPython.noop)
