from django.db import migrations


def create_sandbox(apps, schema_editor):
    # The sandbox messenger works with nothing configured, so `make run` has a channel to try.
    ChannelAccount = apps.get_model("channels", "ChannelAccount")
    ChannelAccount.objects.get_or_create(
        name="sandbox", defaults={"kind": "sandbox", "enabled": True}
    )


class Migration(migrations.Migration):
    dependencies = [("channels", "0001_initial")]

    operations = [migrations.RunPython(create_sandbox, migrations.RunPython.noop)]
