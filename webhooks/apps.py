from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads models only once every app is registered.
        from learnstream import dashboard
        from webhooks.admin_dashboard import webhook_block, webhook_exhausted

        dashboard.register("webhook_block", webhook_block)
        dashboard.register("webhook_exhausted", webhook_exhausted)
