from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        import accounts.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from accounts.models import User

        # A signal, against house style, because deletions also happen through the admin, cascades and
        # bulk querysets; every path must make the user's tokens fail at once.
        post_delete.connect(_user_deleted, sender=User, dispatch_uid="accounts.user_deleted")


def _user_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    from accounts.services import user_deleted

    user_deleted(user_id=instance.pk)
