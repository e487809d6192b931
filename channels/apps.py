from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        # anymail tells ESP tracking (delivered, opened, bounced …) only through its signal.
        from anymail.signals import tracking

        from channels.providers.email.tracking import email_tracking

        tracking.connect(email_tracking, dispatch_uid="comeback.email_tracking")
