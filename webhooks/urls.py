from django.urls import path

from webhooks.views import MuxWebhookView

app_name = "webhooks"
urlpatterns = [
    path("mux", MuxWebhookView.as_view(), name="mux"),
]
