from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads models only once every app is registered.
        from catalog import analytics
        from commerce.selectors import course_revenue

        # catalog never imports commerce: it asks whoever registered for the revenue figure.
        analytics.register_revenue_provider(course_revenue)
