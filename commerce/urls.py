from django.urls import path

from commerce.views import CheckoutView, OrderDetailView, OrderListView, OrderRefundView

urlpatterns = [
    path("courses/<str:id>/checkout", CheckoutView.as_view(), name="course-checkout"),
    path("orders/", OrderListView.as_view(), name="order-list"),
    path("orders/<str:id>", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:id>/refund", OrderRefundView.as_view(), name="order-refund"),
]
