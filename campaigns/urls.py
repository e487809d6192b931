from django.urls import path

from campaigns import tracking

app_name = "campaigns"

urlpatterns = [
    # No trailing slash: the signed value never contains one (see campaigns/tracking.py).
    path("r/<str:signed>", tracking.link_open, name="link"),
]
