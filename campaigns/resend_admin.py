"""The admin action that resends `unknown` deliveries, after a page that states the risk."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from campaigns.models import Delivery
from campaigns.resend import unknown_resend


@admin.action(
    description="Resend unknown deliveries (the customer may get them twice)",
    permissions=["resend"],
)
def resend_unknown(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Delivery]
) -> TemplateResponse | None:
    unknown = queryset.filter(state=Delivery.State.UNKNOWN)
    if request.POST.get("confirmed"):
        changed = unknown_resend(
            delivery_ids=list(unknown.values_list("pk", flat=True)), by=request.user.get_username()
        )
        for delivery in Delivery.objects.filter(pk__in=unknown.values("pk")):
            modeladmin.log_change(request, delivery, "Resent after unknown")
        modeladmin.message_user(
            request, f"{changed} unknown deliveries are due again.", messages.SUCCESS
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Resend unknown deliveries?",
        "opts": modeladmin.model._meta,
        "unknown": unknown.select_related("campaign", "account")[:200],
        "unknown_count": unknown.count(),
        "other_count": queryset.count() - unknown.count(),
        "selected": queryset.values_list("pk", flat=True),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/campaigns/delivery/resend_unknown.html", context)
