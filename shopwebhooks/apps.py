from django.apps import AppConfig


class ShopWebhooksConfig(AppConfig):
    name = "shopwebhooks"
    verbose_name = "Shop webhooks"
