from django.urls import path

from campaigns import email_links, short_links, tracking

app_name = "campaigns"

urlpatterns = [
    # No trailing slash: the signed value never contains one (see campaigns/tracking.py).
    path("r/<str:signed>", tracking.link_open, name="link"),
    path("t/<str:code>", short_links.short_link_open, name="short-link"),
    # Links inside our e-mails (campaigns/email_links.py; made by channels/providers/email).
    path("e/unsubscribe/<str:token>/", email_links.unsubscribe, name="email-unsubscribe"),
    path("e/a/<str:token>/", email_links.action, name="email-action"),
    path("e/o/<str:token>.gif", email_links.opened, name="email-open"),
    path("e/test-send/", email_links.test_send, name="email-test-send"),
]
