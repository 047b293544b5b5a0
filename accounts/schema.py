"""drf-spectacular: describe our JWT authentication as the standard Bearer JWT scheme."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class RevocableJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.RevocableJWTAuthentication"
    name = "jwtAuth"
