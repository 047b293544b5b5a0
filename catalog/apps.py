from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads models only once every app is registered.
        from accounts.signals import user_registered
        from catalog.admin_dashboard import catalog_links, overview_blocks
        from catalog.services.invitations import user_registered_receiver
        from learnstream import dashboard

        dashboard.register("catalog_links", catalog_links)
        dashboard.register("overview_blocks", overview_blocks)
        # Registering with an invited address enrolls the new account (accounts never imports catalog).
        user_registered.connect(user_registered_receiver, dispatch_uid="catalog.invitations_claim")
