from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from accounts.views import AuthViewSet, UserViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # `/auth/token` and `/auth/token/` both work (no redirect of a POST)
router.register("auth", AuthViewSet, basename="auth")
router.register("users", UserViewSet, basename="user")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
