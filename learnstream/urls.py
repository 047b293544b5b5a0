from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from learnstream import health
from learnstream.api_root import ApiRootView

# The hot paths' apps first: Django tries patterns in order and builds the list of every pattern it
# tried on the way (measured: ~10 % of a cached course detail's CPU with catalog third). No two of
# these apps share a path, so the order only decides how fast a path is found.
api_v1: list[URLPattern | URLResolver] = [
    path("", include("catalog.urls")),
    path("", include("catalog.video.urls")),
    path("", include("accounts.urls")),
    path("", include("commerce.urls")),
    path("", ApiRootView.as_view(), name="api-root"),  # SimpleRouter has no root view of its own
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # The session logins, rate-limited like auth/token; before the includes that define the same paths.
    path("", include("accounts.session_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before admin.site.urls so the admin's catch-all cannot shadow `POST /admin/uploads`.
    path("admin/", include("catalog.video.admin_urls")),
    path("admin/catalog/", include("catalog.admin_urls")),  # the MongoDB catalog's admin pages
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("webhooks/", include("webhooks.urls")),
]

handler400 = "learnstream.errors.handler400"
handler403 = "learnstream.errors.handler403"
handler404 = "learnstream.errors.handler404"
handler500 = "learnstream.errors.handler500"
