from django.urls import path

from channels import views
from channels.sandbox import views as sandbox

app_name = "channels"

urlpatterns = [
    path("hooks/<slug:account>/", views.webhook, name="webhook"),
    # The sandbox messenger (our own web chat); deep links of sandbox accounts open this page.
    path("sandbox/", sandbox.chat, name="sandbox"),
    path("sandbox/api/<str:conversation>/events", sandbox.events, name="sandbox-events"),
    path("sandbox/api/<str:conversation>/messages", sandbox.messages, name="sandbox-messages"),
]
