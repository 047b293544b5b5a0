from rest_framework_simplejwt.authentication import JWTAuthentication


class RevocableJWTAuthentication(JWTAuthentication):
    """Placeholder: replaced by the auth-epoch / denylist aware implementation."""
