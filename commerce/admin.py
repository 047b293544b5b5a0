"""Orders in the Django admin: read-only rows (only checkout and Stripe's events write them), filters,
and a refund action that goes through the same service as `POST orders/{id}/refund`."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from commerce.models import Order, OrderStatus
from commerce.services import order_refund
from learnstream.admin import ReadOnlyAdminMixin
from learnstream.errors import ApplicationError


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "course_title",
        "price",
        "status",
        "created_at",
        "paid_at",
        "refund_requested_at",
    )
    list_filter = ("status", "currency", "created_at", "paid_at")
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ("id", "user__email", "course_title", "course_id", "stripe_payment_intent_id")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    ordering = ("-created_at", "-id")
    readonly_fields = [f.name for f in Order._meta.fields]
    actions = ["refund_orders"]

    @admin.display(description="price", ordering="amount")
    def price(self, order: Order) -> str:
        return f"{order.amount / 100:.2f} {order.currency.upper()}"

    @admin.action(description="Refund selected paid orders (Stripe)")
    def refund_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        requested, refused = 0, []
        for order in queryset.filter(status=OrderStatus.PAID):
            try:
                order_refund(order_id=order.pk)
            except ApplicationError as exc:
                refused.append(f"{order.pk}: {exc.message}")
                continue
            requested += 1
        skipped = queryset.exclude(status=OrderStatus.PAID).count()
        if requested:
            self.message_user(request, f"Refund requested for {requested} order(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} order(s) skipped: only paid orders can be refunded.")
        for line in refused:
            self.message_user(request, f"Refund refused: {line}", messages.ERROR)
