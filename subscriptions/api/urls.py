from django.urls import path

from subscriptions.api import customers, views

app_name = "api"

urlpatterns = [
    path("orders/", views.OrderUpsertApi.as_view(), name="orders"),
    path(
        "orders/<str:external_id>/subscribe-links/",
        views.OrderSubscribeLinksApi.as_view(),
        name="order-subscribe-links",
    ),
    path("events/", views.EventReceiveApi.as_view(), name="events"),
    path(
        "customers/<str:external_id>/subscriptions/",
        customers.CustomerSubscriptionsApi.as_view(),
        name="customer-subscriptions",
    ),
    path(
        "customers/<str:external_id>/unsubscribe/",
        customers.CustomerUnsubscribeApi.as_view(),
        name="customer-unsubscribe",
    ),
    path(
        "customers/<str:external_id>/consents/",
        customers.CustomerConsentsApi.as_view(),
        name="customer-consents",
    ),
    path("consents.csv", customers.ConsentsCsvApi.as_view(), name="consents-csv"),
]
