from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The peer address used for rate limits and logs.

    `X-Forwarded-For` is trusted only for the number of proxies the operator configured
    (`TRUSTED_PROXY_COUNT`); by default a client cannot pick its own rate-limit bucket.
    """
    proxies: int = settings.TRUSTED_PROXY_COUNT
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()
    ]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return remote
