from django.urls import path

from subscriptions.api import batch_views, customers, links, privacy, views

app_name = "api"

# External ids are the shop's own and may hold "/" ("2026/0042"): <path:> takes them whole,
# and each route ends in a fixed word, so the id is everything before it.
urlpatterns = [
    path("orders/", views.OrderUpsertApi.as_view(), name="orders"),
    path(
        "orders/<path:external_id>/subscribe-links/",
        views.OrderSubscribeLinksApi.as_view(),
        name="order-subscribe-links",
    ),
    path("events/", views.EventReceiveApi.as_view(), name="events"),
    path("events/batch/", batch_views.EventBatchApi.as_view(), name="events-batch"),
    path(
        "customers/<path:external_id>/subscriptions/",
        customers.CustomerSubscriptionsApi.as_view(),
        name="customer-subscriptions",
    ),
    path(
        "customers/<path:external_id>/unsubscribe/",
        customers.CustomerUnsubscribeApi.as_view(),
        name="customer-unsubscribe",
    ),
    path(
        "customers/<path:external_id>/consents/",
        customers.CustomerConsentsApi.as_view(),
        name="customer-consents",
    ),
    path(
        "customers/<path:external_id>/erase/",
        privacy.CustomerEraseApi.as_view(),
        name="customer-erase",
    ),
    path(
        "customers/<path:external_id>/export/",
        privacy.CustomerExportApi.as_view(),
        name="customer-export",
    ),
    path(
        "customers/<path:external_id>/subscribe-link/",
        links.CustomerSubscribeLinkApi.as_view(),
        name="customer-subscribe-link",
    ),
    path("subscribe-links/", links.CampaignSubscribeLinkApi.as_view(), name="campaign-link"),
    path("consents.csv", customers.ConsentsCsvApi.as_view(), name="consents-csv"),
]
