"""Auth (`/api/v1/auth/…`) and admin users (`/api/v1/users/…`) endpoints: parse, call a service, render."""

from typing import Any

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import selectors, services
from accounts.models import normalize_email
from accounts.ratelimits import login_attempt_check, login_succeeded, rate_limit_hit, rate_limit_ip
from accounts.serializers import (
    AdminUserSerializer,
    AdminUserUpdateSerializer,
    EmailChangeSerializer,
    LoginSerializer,
    OneTimeTokenSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserListQuerySerializer,
    UserSerializer,
)
from accounts.tokens import TokenPair
from learnstream.errors import NotAuthenticated, NotFound
from learnstream.openapi import error_responses
from learnstream.permissions import IsAdminRole


def request_user_id(request: Request) -> int:
    """The caller's user id as an int (typed helper: `request.user.pk` is Optional to type checkers).

    Only for views behind IsAuthenticated; raises NotAuthenticated otherwise.
    """
    user_id = getattr(request.user, "pk", None)
    if not request.user.is_authenticated or user_id is None:
        raise NotAuthenticated()
    return int(user_id)


class NoStoreMixin:
    # Auth and account responses carry credentials or personal data: never cache them (ASVS 14.3.2).
    # (A comment, not a docstring: drf-spectacular would publish a docstring as every operation's text.)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        add_never_cache_headers(response)
        return response


def _pair(pair: TokenPair) -> Response:
    return Response({"access": pair.access, "refresh": pair.refresh}, status=status.HTTP_200_OK)


@extend_schema(tags=["auth"])
class AuthViewSet(NoStoreMixin, viewsets.ViewSet):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Create a student account",
        request=RegisterSerializer,
        responses={201: UserSerializer, **error_responses(400, 409, 429, 503)},
        auth=[],
    )
    @action(detail=False, methods=["post"], permission_classes=[AllowAny], authentication_classes=[])
    def register(self, request: Request) -> Response:
        rate_limit_ip(request=request, group="register_ip")
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log in: exchange email and password for an access/refresh token pair",
        request=LoginSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 429, 503)},
        auth=[],
    )
    @action(detail=False, methods=["post"], permission_classes=[AllowAny], authentication_classes=[])
    def token(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        login_attempt_check(request=request, email=email)
        pair = services.session_login(
            request=request, email=email, password=serializer.validated_data["password"]
        )
        login_succeeded(request=request, email=email)
        return _pair(pair)

    @extend_schema(
        summary="Rotate a refresh token",
        description="The presented refresh token dies; presenting it again revokes its whole login family.",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 429, 503)},
        auth=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="token/refresh",
        url_name="token-refresh",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def token_refresh(self, request: Request) -> Response:
        rate_limit_ip(request=request, group="refresh_ip")
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _pair(services.session_refresh(raw_refresh=serializer.validated_data["refresh"]))

    @extend_schema(
        summary="Log out this session",
        description="Revokes the given refresh token's login family and the calling access token.",
        request=RefreshSerializer,
        responses={204: None, **error_responses(400, 401, 503)},
    )
    @action(detail=False, methods=["post"])
    def logout(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access: Any = request.auth  # a validated AccessToken for JWT requests, None for session requests
        services.session_logout(
            user_id=request_user_id(request),
            raw_refresh=serializer.validated_data["refresh"],
            access_jti=access["jti"] if access is not None else None,
            access_expires_at=datetime_from_epoch(access["exp"]) if access is not None else None,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Log out everywhere",
        request=None,
        responses={204: None, **error_responses(401, 503)},
    )
    @action(detail=False, methods=["post"], url_path="logout-all", url_name="logout-all")
    def logout_all(self, request: Request) -> Response:
        try:
            services.sessions_revoke_all(user_id=request_user_id(request), reason="logout_all")
        except NotFound as exc:
            raise NotAuthenticated() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"], summary="My profile", responses={200: ProfileSerializer, **error_responses(401, 503)}
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Update my name",
        request=ProfileUpdateSerializer,
        responses={200: ProfileSerializer, **error_responses(400, 401, 503)},
    )
    @action(detail=False, methods=["get", "patch"])
    def me(self, request: Request) -> Response:
        if request.method == "PATCH":
            serializer = ProfileUpdateSerializer(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            user = services.user_profile_update(user_id=request_user_id(request), **serializer.validated_data)
        else:
            try:
                user = selectors.user_get(user_id=request_user_id(request))
            except NotFound as exc:
                raise NotAuthenticated() from exc
        return Response(ProfileSerializer(user).data)

    @extend_schema(
        summary="Change my password",
        description="Requires the current password. Every session of the user ends, this one included.",
        request=PasswordChangeSerializer,
        responses={204: None, **error_responses(400, 401, 429, 503)},
    )
    @action(detail=False, methods=["post"], url_path="me/password", url_name="me-password")
    def password(self, request: Request) -> Response:
        user_id = request_user_id(request)
        rate_limit_hit(group="password_user", value=str(user_id))
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_change(user_id=user_id, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- self-service by email (docs/auth.md, "Self-service by email") ---------------------------------

    @extend_schema(
        summary="Ask for a password-reset link",
        description="Always 202, whether or not the address has an account (no enumeration): the "
        "lookup and the mail happen in a background task. The link is single-use and valid for 1 hour.",
        request=PasswordResetSerializer,
        responses={202: None, **error_responses(400, 429, 503)},
        auth=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="password/reset",
        url_name="password-reset",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def password_reset(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        rate_limit_ip(request=request, group="reset_ip")
        rate_limit_hit(group="reset_account", value=normalize_email(email))
        services.password_reset_request(email=email)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Set a new password with a reset token",
        description="Every session of the user ends (JWT logins and browser sessions). A used, expired, "
        "superseded or invalidated token is 400 `invalid_token`; a rejected password (400 "
        "`validation_error`) does not use the token up.",
        request=PasswordResetConfirmSerializer,
        responses={204: None, **error_responses(400, 429, 503)},
        auth=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="password/reset/confirm",
        url_name="password-reset-confirm",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def password_reset_confirm(self, request: Request) -> Response:
        rate_limit_ip(request=request, group="token_ip")
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Verify my email address with the mailed token",
        request=OneTimeTokenSerializer,
        responses={204: None, **error_responses(400, 429, 503)},
        auth=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="email/verify",
        url_name="email-verify",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def email_verify(self, request: Request) -> Response:
        rate_limit_ip(request=request, group="token_ip")
        serializer = OneTimeTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_verify(token=serializer.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send the verification mail again",
        description="202; nothing is sent when the address is already verified. A new link supersedes "
        "the previous one.",
        request=None,
        responses={202: None, **error_responses(401, 429, 503)},
    )
    @action(detail=False, methods=["post"], url_path="email/verify/resend", url_name="email-verify-resend")
    def email_verify_resend(self, request: Request) -> Response:
        user_id = request_user_id(request)
        rate_limit_ip(request=request, group="mail_ip")
        rate_limit_hit(group="verify_resend_user", value=str(user_id))
        services.email_verification_resend(user_id=user_id)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Change my email address",
        description="Needs the current password (400 `invalid_password`). A confirmation link goes to "
        "the new address and a notice to the current one; the address changes only when the link is "
        "confirmed (`auth/me/email/confirm`). An address that has an account is 409 `email_taken`.",
        request=EmailChangeSerializer,
        responses={202: None, **error_responses(400, 401, 409, 429, 503)},
    )
    @action(detail=False, methods=["post"], url_path="me/email", url_name="me-email")
    def email_change(self, request: Request) -> Response:
        user_id = request_user_id(request)
        rate_limit_ip(request=request, group="mail_ip")
        rate_limit_hit(group="email_change_user", value=str(user_id))
        rate_limit_hit(group="password_user", value=str(user_id))
        serializer = EmailChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_change_request(user_id=user_id, **serializer.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Confirm an email change with the token mailed to the new address",
        description="Needs only the token. The new address is verified. 409 `email_taken` if another "
        "account took the address meanwhile (the token stays usable).",
        request=OneTimeTokenSerializer,
        responses={204: None, **error_responses(400, 409, 429, 503)},
        auth=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="me/email/confirm",
        url_name="me-email-confirm",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def email_change_confirm(self, request: Request) -> Response:
        rate_limit_ip(request=request, group="token_ip")
        serializer = OneTimeTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_change_confirm(token=serializer.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(
        summary="List users (admin)",
        parameters=[UserListQuerySerializer],
        responses={200: AdminUserSerializer(many=True), **error_responses(400, 401, 403, 404, 503)},
    ),
    retrieve=extend_schema(
        summary="One user (admin)",
        responses={200: AdminUserSerializer, **error_responses(401, 403, 404, 503)},
    ),
    partial_update=extend_schema(
        summary="Change a user's role, active flag or name (admin)",
        request=AdminUserUpdateSerializer,
        responses={200: AdminUserSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    ),
)
class UserViewSet(NoStoreMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsAdminRole]
    serializer_class = AdminUserSerializer
    http_method_names = ["get", "patch", "head", "options"]
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self) -> Any:
        query = UserListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.user_list(**query.validated_data)

    def get_object(self) -> Any:
        return selectors.user_get(user_id=int(self.kwargs["pk"]))

    def partial_update(self, request: Request, pk: str) -> Response:
        # partial: an HTML form omits unticked checkboxes, which must mean "unchanged", not False.
        serializer = AdminUserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user_id=int(pk), **serializer.validated_data)
        return Response(AdminUserSerializer(user).data)
