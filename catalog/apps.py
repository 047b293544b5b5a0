from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads models only once every app is registered.
        from catalog.admin_dashboard import catalog_links, overview_blocks
        from learnstream import dashboard

        dashboard.register("catalog_links", catalog_links)
        dashboard.register("overview_blocks", overview_blocks)
