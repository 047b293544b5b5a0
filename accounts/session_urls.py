"""The session logins (browsable API and admin), rate-limited like `auth/token`. Included at the root by
learnstream/urls.py before the includes that define the same paths."""

from django.urls import path

from accounts.session_login import admin_login, api_login

urlpatterns = [
    path("admin/login/", admin_login),
    path("api-auth/login/", api_login),
]
