from django.urls import path

from campaigns.api import programme_stats, reorders, views

app_name = "campaigns_api"

urlpatterns = [
    path("campaigns/", views.CampaignCreateApi.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailApi.as_view(), name="campaign"),
    path("campaigns/<int:pk>/launch/", views.CampaignLaunchApi.as_view(), name="launch"),
    path("campaigns/<int:pk>/pause/", views.CampaignPauseApi.as_view(), name="pause"),
    path("campaigns/<int:pk>/stats/", views.CampaignStatsApi.as_view(), name="stats"),
    path("campaigns/<int:pk>/reach/", views.CampaignReachApi.as_view(), name="reach"),
    path("stats/", programme_stats.ProgrammeStatsApi.as_view(), name="programme-stats"),
    path(
        "reorders/<uuid:public_id>/confirm/",
        reorders.ReorderConfirmApi.as_view(),
        name="reorder-confirm",
    ),
    path(
        "reorders/<uuid:public_id>/decline/",
        reorders.ReorderDeclineApi.as_view(),
        name="reorder-decline",
    ),
]
