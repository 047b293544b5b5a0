"""Reads of accounts data (keyword-only, typed)."""

from django.db.models import Q, QuerySet

from accounts.models import User
from learnstream.errors import NotFound


def user_get(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    return user


def user_list(*, role: str | None = None, search: str | None = None) -> QuerySet[User]:
    users = User.objects.all().order_by("id")
    if role:
        users = users.filter(role=role)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    return users


def user_names(*, user_ids: list[int]) -> dict[int, str]:
    """Names of many users in one query (avoids N+1 when rendering lists)."""
    return dict(User.objects.filter(pk__in=user_ids).values_list("id", "name"))


def user_ids_by_email(*, emails: list[str]) -> dict[str, int]:
    """Normalised email → user id for the accounts among `emails` (already normalised), in one query."""
    if not emails:
        return {}
    return dict(User.objects.filter(email__in=emails).values_list("email", "id"))
