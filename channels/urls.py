from django.urls import path

from channels import views
from channels.providers.email import views as email
from channels.sandbox import views as sandbox

app_name = "channels"

urlpatterns = [
    path("hooks/<slug:account>/", views.webhook, name="webhook"),
    # The sandbox messenger (our own web chat); deep links of sandbox accounts open this page.
    path("sandbox/", sandbox.chat, name="sandbox"),
    path("sandbox/api/<str:conversation>/events", sandbox.events, name="sandbox-events"),
    path("sandbox/api/<str:conversation>/messages", sandbox.messages, name="sandbox-messages"),
    # Links inside our e-mails (channels/providers/email/views.py).
    path("e/unsubscribe/<str:token>/", email.unsubscribe, name="email-unsubscribe"),
    path("e/a/<str:token>/", email.action, name="email-action"),
    path("e/o/<str:token>.gif", email.opened, name="email-open"),
    path("e/test-send/", email.test_send, name="email-test-send"),
]
