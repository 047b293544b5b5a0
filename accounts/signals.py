"""Signals other apps may listen to. Accounts sits below the catalog in the dependency stack, so it
announces events instead of calling into the apps that care (they connect in their `AppConfig.ready`)."""

from django.dispatch import Signal

# Sent after a registration has been stored (`accounts.services.user_register`), with `user=`.
# A receiver must not make the registration fail (the catalog's invitation claim catches its own errors).
user_registered = Signal()
