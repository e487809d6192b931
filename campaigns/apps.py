from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # anymail tells ESP tracking (delivered, opened, bounced …) only through its signal.
        from anymail.signals import tracking

        from campaigns.email_tracking import email_tracking

        tracking.connect(email_tracking, dispatch_uid="comeback.email_tracking")
