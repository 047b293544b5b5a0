"""The HTML session logins (`/admin/login/`, `/api-auth/login/`) behind the same rate limits as
`auth/token` (accounts/ratelimits.py): per client network, per account and network, and the global
per-account ceiling. A refused attempt gets a 429 lockout page before the form hashes any password.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from accounts.ratelimits import login_attempt_check, login_succeeded
from learnstream.errors import RateLimited

LOCKOUT_TEMPLATE = "accounts/lockout.html"
# AuthenticationForm's field for USERNAME_FIELD (our email) is always called "username".
USERNAME_FIELD = "username"

View = Callable[..., HttpResponseBase]


def _lockout(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = render(request, LOCKOUT_TEMPLATE, {"retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    add_never_cache_headers(response)
    return response


def rate_limited_login(view: View) -> View:
    """Wrap a Django login view: POSTs are counted (and maybe refused) before the form runs."""

    def login(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        email = str(request.POST.get(USERNAME_FIELD, ""))
        try:
            login_attempt_check(request=request, email=email)
        except RateLimited as exc:
            return _lockout(request, exc)
        response = view(request, *args, **kwargs)
        # A successful form logs the user in (request.user is set) and redirects.
        if response.status_code == 302 and getattr(request, "user", None) and request.user.is_authenticated:
            login_succeeded(request=request, email=email)
        return response

    return login


admin_login = rate_limited_login(admin.site.login)
api_login = rate_limited_login(auth_views.LoginView.as_view(template_name="rest_framework/login.html"))
