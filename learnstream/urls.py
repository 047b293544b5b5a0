from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.session_login import admin_login, api_login
from learnstream import health

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("streaming.urls")),
]

urlpatterns = [
    # The session logins, rate-limited like auth/token; before the includes that define the same paths.
    path("admin/login/", admin_login),
    path("api-auth/login/", api_login),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before admin.site.urls so the admin's catch-all cannot shadow the seed's upload endpoint.
    path("admin/", include("streaming.admin_urls")),
    path("admin/catalog/", include("catalog.admin_urls")),  # the MongoDB catalog's admin pages
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("webhooks/", include("webhooks.urls")),
]

handler400 = "learnstream.errors.handler400"
handler403 = "learnstream.errors.handler403"
handler404 = "learnstream.errors.handler404"
handler500 = "learnstream.errors.handler500"
