import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from subscriptions.admin_funnel import funnel_view
from subscriptions.api.auth import forget_keys
from subscriptions.consent_export import consent_csv_response
from subscriptions.models import (
    ApiKey,
    ConsentEvent,
    Customer,
    ErasureLog,
    Order,
    OrderEvent,
    OrderItem,
    Subscription,
)
from subscriptions.privacy.erasure import customer_erase
from subscriptions.privacy.export import customer_export


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written by the system: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderInline(ReadOnlyInline):
    model = Order
    fields = readonly_fields = ("external_id", "status", "total", "currency", "placed_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "email", "phone", "locale", "time_zone", "created_at")
    search_fields = ("external_id", "name", "email", "phone")
    readonly_fields = ("erased_at",)
    inlines = [OrderInline]
    actions = ["export_json", "erase"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Orders and the consent log refer to a customer: "Erase" is the way to forget one.
        return False

    @admin.action(description="Export everything held about the selected customers (JSON)")
    def export_json(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        documents = [customer_export(customer=customer) for customer in queryset.order_by("pk")]
        body = json.dumps(
            documents[0] if len(documents) == 1 else documents, ensure_ascii=False, indent=2
        )
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="customer-export.json"'
        return response

    @admin.action(description="Erase the selected customers (cannot be undone)")
    def erase(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        customers = list(queryset.order_by("pk"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase customers?",
                "customers": customers,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/subscriptions/customer/erase.html", context)
        for customer in customers:
            customer_erase(customer=customer, requested_by=f"admin:{request.user.get_username()}")
        self.message_user(request, f"Erased {len(customers)} customer(s).", messages.SUCCESS)
        return None


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("event_id", "type", "occurred_at", "received_at", "processed_at")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "status", "total", "currency", "placed_at")
    list_filter = ("status",)
    search_fields = ("external_id", "customer__external_id", "customer__name")
    autocomplete_fields = ("customer",)
    date_hierarchy = "placed_at"
    inlines = [OrderItemInline, OrderEventInline]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "order", "occurred_at", "received_at", "processed_at")
    list_filter = ("type",)
    search_fields = ("event_id", "order__external_id")
    list_select_related = ("order",)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    # Read-only: a change of status or topics must leave a consent event, which only the
    # services in subscriptions/services.py write.
    list_display = ("customer", "account", "platform_user_id", "status", "source", "topic_list")
    list_filter = ("account", "status", "source", "device")
    change_list_template = "admin/subscriptions/subscription/change_list.html"
    search_fields = ("customer__external_id", "customer__name", "platform_user_id")
    list_select_related = ("customer", "account")

    @admin.display(description="Topics")
    def topic_list(self, obj: Subscription) -> str:
        return ", ".join(obj.topics()) or "—"

    def get_urls(self) -> list[URLPattern]:
        funnel = self.admin_site.admin_view(self._funnel)
        own = [path("funnel/", funnel, name="subscriptions_subscription_funnel")]
        return own + super().get_urls()

    def _funnel(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return funnel_view(self, request)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer", "subscription", "kind", "source", "evidence")
    list_filter = ("kind", "source")
    search_fields = ("customer__external_id", "evidence")
    list_select_related = ("customer", "subscription__account")
    actions = ["export_csv"]

    @admin.action(description="Export selected consent events as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseBase:
        return consent_csv_response(queryset)


@admin.register(ErasureLog)
class ErasureLogAdmin(ReadOnlyAdmin):
    list_display = ("erased_at", "customer", "requested_by")
    search_fields = ("requested_by",)
    fields = readonly_fields = ("customer", "requested_by", "erased_at", "removed")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Never shows a key or its hash; a new key is shown once, in a message, after adding."""

    list_display = ("name", "prefix", "scope", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked", "scope")
    search_fields = ("name", "prefix")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["name", "scope"]
        return ["name", "prefix", "scope", "created_at", "last_used_at", "revoked"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        # Revoking is the one change, and it is the action: a revoked key is never revived.
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            return
        issued, key = ApiKey.issue(obj.name, obj.scope)
        # The admin goes on with `obj` (log entry, redirect): make it the row just issued.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued, field.attname))
        obj._state.adding, obj._state.db = False, issued._state.db
        messages.warning(
            request, f"API key for {obj.name}: {key} — copy it now, it will not be shown again."
        )

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked=False).update(revoked=True)
        forget_keys()  # this process at once; the others' caches within KEY_CACHE_SECONDS
        self.message_user(request, f"Revoked {count} API key(s).")
