"""Input/output shapes of the auth and users APIs. No business rules here (see services.py)."""

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.utils import html

from accounts.models import Role, User
from accounts.onetime import TOKEN_MAX_CHARS


def password_field(**kwargs: object) -> serializers.CharField:
    # Verified exactly as received (ASVS 6.2.8): no trimming; bounded so hashing cost is bounded.
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=settings.PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        **kwargs,  # type: ignore[arg-type]
    )


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    name = serializers.CharField(max_length=150)


class LoginSerializer(serializers.Serializer):
    # A CharField, not an EmailField: a malformed email must fail like any other bad credential.
    email = serializers.CharField(max_length=254)
    password = password_field()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, write_only=True)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = password_field()
    new_password = password_field()


def token_field() -> serializers.CharField:
    # The one-time token from a mailed link; anything longer than a token is refused unread.
    return serializers.CharField(max_length=TOKEN_MAX_CHARS, trim_whitespace=False, write_only=True)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = token_field()
    new_password = password_field()


class OneTimeTokenSerializer(serializers.Serializer):
    token = token_field()


class EmailChangeSerializer(serializers.Serializer):
    new_email = serializers.EmailField(max_length=254)
    current_password = password_field()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role"]
        read_only_fields = fields


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "date_joined", "email_verified"]
        read_only_fields = fields


class SentCharField(serializers.CharField):
    """DRF reads `name=` in an HTML form as "not sent" for an optional field; a value that was sent is
    validated like JSON's `""` instead (so an empty name is a 400, not a silent no-op)."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary.get(self.field_name)
        return super().get_value(dictionary)


class ProfileUpdateSerializer(serializers.Serializer):
    """Only the name is editable by its owner; anything else in the body is ignored (no mass assignment)."""

    name = SentCharField(max_length=150, required=False)


class AdminUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "is_active", "date_joined"]
        read_only_fields = fields


class AdminUserUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    name = SentCharField(max_length=150, required=False)


class UserListQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    search = serializers.CharField(max_length=254, required=False)
