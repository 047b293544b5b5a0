import logging
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnstream.settings")

django_application = get_wsgi_application()

# After Django's set-up: health.py reads settings and the project's modules at import.
from learnstream.health import LivenessShortcut  # noqa: E402

application = LivenessShortcut(django_application)

if not settings.IS_PRODUCTION:
    # A server that was meant to be production but runs without DJANGO_ENV=production trusts
    # per-checkout development secrets and development defaults: say so where operators look.
    logging.getLogger("learnstream.wsgi").warning(
        "\n%s\nDJANGO_ENV=%s: THIS SERVER RUNS IN %s MODE with generated development secrets (%s) and "
        "development defaults. Never expose it; set DJANGO_ENV=production for a real deployment.\n%s",
        "!" * 78,
        settings.DJANGO_ENV,
        settings.DJANGO_ENV.upper(),
        settings.DEV_SECRETS_FILE,
        "!" * 78,
    )
