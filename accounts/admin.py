"""Django admin for users and tokens. Every change that affects access goes through accounts.services,
so the admin site obeys the same rules as the API (epoch bump, token revocation, one active admin)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, BaseUserCreationForm, ReadOnlyPasswordHashField
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin as BaseBlacklistedTokenAdmin
from rest_framework_simplejwt.token_blacklist.admin import OutstandingTokenAdmin as BaseOutstandingTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.models import Role, User, normalize_email
from learnstream.errors import Conflict


def _leaves_no_active_admin(user: User, *, role: str, is_active: bool) -> bool:
    if not (user.role == Role.ADMIN and user.is_active) or (role == Role.ADMIN and is_active):
        return False
    return not User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


class UserCreationAdminForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


class UserChangeAdminForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        label="Password",
        help_text="Raw passwords are not stored. Use the reset link to set a new one (ends all sessions).",
    )

    class Meta:
        model = User
        fields = ("email", "name", "role", "is_active")

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stored = User.objects.get(pk=self.instance.pk)
        role = data.get("role", stored.role)
        is_active = data.get("is_active", stored.is_active)
        if _leaves_no_active_admin(stored, role=role, is_active=is_active):
            raise forms.ValidationError("This change would leave no active administrator.")
        return data


class PasswordResetAdminForm(AdminPasswordChangeForm):
    def save(self, commit: bool = True) -> Any:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        services.user_set_password(user=self.user, password=password)
        self.user.refresh_from_db()
        return self.user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordResetAdminForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Access", {"fields": ("role", "is_active", "auth_epoch", "email_verified")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "role", "password1", "password2")}),
    )
    # email_verified is set by the owner following a mailed link, never by hand.
    readonly_fields = ("auth_epoch", "email_verified", "last_login", "date_joined")
    list_display = ("email", "name", "role", "is_active", "email_verified", "date_joined")
    list_filter = ("role", "is_active", "email_verified")
    search_fields = ("email", "name")
    ordering = ("email",)
    filter_horizontal = ()
    actions = ["deactivate_users", "log_out_everywhere"]

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        try:
            services.user_update(user_id=obj.pk, role=obj.role, is_active=obj.is_active, name=obj.name)
        except Conflict as exc:  # lost a race with another admin's change; the form check passed
            self.message_user(request, exc.message, messages.ERROR)
            return  # nothing of this form is saved, the email included
        if "email" in form.changed_data:
            User.objects.filter(pk=obj.pk).update(email=obj.email)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and _leaves_no_active_admin(obj, role=Role.STUDENT, is_active=False):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        remaining = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk__in=queryset.values("pk"))
        if not remaining.exists():
            self.message_user(
                request, "Deleting these users would leave no active administrator.", messages.ERROR
            )
            return
        super().delete_queryset(request, queryset)

    @admin.action(description="Deactivate selected users (ends their sessions)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for user in queryset:
            try:
                services.user_update(user_id=user.pk, is_active=False)
                done += 1
            except Conflict as exc:
                self.message_user(request, f"{user.email}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Deactivated {done} user(s).", messages.SUCCESS)

    @admin.action(description="Log out everywhere (revoke every token)")
    def log_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(services.sessions_revoke_all(user_id=user.pk, reason="admin") for user in queryset)
        self.message_user(request, f"Revoked {revoked} refresh token(s); access tokens stop working now.")


admin.site.unregister(Group)  # roles, not groups, decide access; the model is unused
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(BaseOutstandingTokenAdmin):
    """Read-only. The stored raw token is never displayed (it is a live credential until it expires)."""

    list_display = ("jti", "user", "kind", "family", "created_at", "expires_at", "blacklisted")  # type: ignore[assignment]
    fields = ("jti", "user", "kind", "family", "created_at", "expires_at", "blacklisted")
    search_fields = ("jti", "user__email")
    ordering = ("-created_at",)
    list_filter = (("blacklistedtoken", admin.EmptyFieldListFilter),)
    actions = ["revoke_sessions"]  # type: ignore[assignment]  # simplejwt declares None

    def get_queryset(self, *args: Any, **kwargs: Any) -> QuerySet[OutstandingToken]:
        return super().get_queryset(*args, **kwargs).select_related("user", "lineage", "blacklistedtoken")

    def get_readonly_fields(self, *args: Any, **kwargs: Any) -> list[Any]:
        return list(self.fields)

    @admin.display(description="kind")
    def kind(self, obj: OutstandingToken) -> str:
        if hasattr(obj, "lineage"):
            return "refresh"
        return "access (denylisted)" if not obj.token else "refresh (no lineage)"

    @admin.display(description="family")
    def family(self, obj: OutstandingToken) -> str:
        return obj.lineage.family.hex if hasattr(obj, "lineage") else "—"

    @admin.display(description="blacklisted", boolean=True)
    def blacklisted(self, obj: OutstandingToken) -> bool:
        return hasattr(obj, "blacklistedtoken")

    @admin.action(description="Revoke the selected sessions (their whole refresh-token family)")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[OutstandingToken]) -> None:
        revoked = services.sessions_revoke(token_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(BaseBlacklistedTokenAdmin):
    """Read-only: deleting a row would silently revive a revoked token."""

    search_fields = ("token__jti", "token__user__email")
    ordering = ("-blacklisted_at",)

    def has_add_permission(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def get_readonly_fields(self, *args: Any, **kwargs: Any) -> list[str]:
        return ["token", "blacklisted_at"]
