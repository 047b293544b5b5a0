from typing import Any

from rest_framework_simplejwt.tokens import RefreshToken


def issue_token_pair(user: Any) -> tuple[str, str]:
    refresh = RefreshToken.for_user(user)
    return str(refresh.access_token), str(refresh)
