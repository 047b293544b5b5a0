from django.urls import path

from webhooks.views import MuxWebhookView, StripeWebhookView

app_name = "webhooks"
urlpatterns = [
    path("mux", MuxWebhookView.as_view(), name="mux"),
    path("stripe", StripeWebhookView.as_view(), name="stripe"),
]
