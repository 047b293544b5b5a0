"""Enrollments in the Django admin (PostgreSQL rows whose course lives in MongoDB).

Course titles come from MongoDB in ONE query per changelist page (never one per row); the course and
user filters are plain query parameters (`?course=<id>`, `?user=<id>`) set by clicking a row's course
or user, so the sidebar never has to list every user or course. The "access" filter lists active
enrollments expiring within 7 days or already expired (`access_days`). Enrolling and unenrolling go through
the API (its services keep the Redis enrollment cache right), so rows are read-only here.
"""

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from catalog.admin_selectors import course_titles_get
from catalog.models import Enrollment, EnrollmentStatus
from learnstream.admin import ReadOnlyAdminMixin
from learnstream.errors import STORE_OUTAGES

TITLES_ATTR = "_admin_course_title"
UNKNOWN_TITLE = "(course title unavailable)"


class _SelectedValueFilter(admin.SimpleListFilter):
    """A filter driven by a query parameter; the sidebar shows only the active choice."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, self.label_for(value))] if value else []

    def label_for(self, value: str) -> str:
        return value


class CourseFilter(_SelectedValueFilter):
    title = "course"
    parameter_name = "course"

    def label_for(self, value: str) -> str:
        try:
            return course_titles_get(course_ids=[value]).get(value, value)
        except STORE_OUTAGES:
            return value

    def queryset(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
        return queryset.filter(course_id=self.value()) if self.value() else queryset


class UserFilter(_SelectedValueFilter):
    title = "user"
    parameter_name = "user"

    def label_for(self, value: str) -> str:
        user = User.objects.filter(pk=value).only("email").first() if value.isdecimal() else None
        return user.email if user else value

    def queryset(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(user_id=int(value)) if value.isdecimal() else queryset.none()


class ExpiryFilter(admin.SimpleListFilter):
    """Access expiry (`access_days`): active enrollments that expire soon or already have."""

    title = "access"
    parameter_name = "expiry"
    EXPIRING_DAYS = 7

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("expiring", f"Expiring within {self.EXPIRING_DAYS} days"),
            ("expired", "Expired"),
            ("never", "Never expires"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
        moment = timezone.now()
        active = queryset.filter(status=EnrollmentStatus.ACTIVE)
        if self.value() == "expiring":
            horizon = moment + timedelta(days=self.EXPIRING_DAYS)
            return active.filter(expires_at__gt=moment, expires_at__lte=horizon)
        if self.value() == "expired":
            return active.filter(expires_at__lte=moment)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return queryset


class EnrollmentChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        try:
            titles = course_titles_get(course_ids=[row.course_id for row in rows])
        except STORE_OUTAGES:
            titles = None  # MongoDB down: the PostgreSQL rows are still worth showing
        for row in rows:
            title = UNKNOWN_TITLE if titles is None else titles.get(row.course_id, "(missing course)")
            setattr(row, TITLES_ATTR, title)
        self.result_list = rows


@admin.register(Enrollment)
# Read-only: rows change only through the API's services (which keep the enrollment cache right).
class EnrollmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user_link", "course_link", "status", "created_at", "expires_at", "updated_at")
    list_filter = ("status", ExpiryFilter, CourseFilter, UserFilter, "created_at")
    search_fields = ("user__email", "user__name", "=course_id")
    search_help_text = "User email or name, or an exact course id."
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    fields = ("user", "course_id", "course_title", "status", "created_at", "expires_at", "updated_at")
    readonly_fields = fields

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EnrollmentChangeList

    @admin.display(description="user", ordering="user__email")
    def user_link(self, obj: Enrollment) -> str:
        return format_html(
            '<a href="?user={}" title="Only this user\'s enrollments">{}</a>', obj.user_id, obj.user
        )

    @admin.display(description="course")
    def course_link(self, obj: Enrollment) -> str:
        title = getattr(obj, TITLES_ATTR, obj.course_id)
        link = format_html(
            '<a href="?course={}" title="Only this course\'s enrollments">{}</a>', obj.course_id, title
        )
        try:
            page = reverse("catalog_admin:course_change", args=[obj.course_id])
        except NoReverseMatch:  # the catalog admin pages are not mounted
            return link
        return format_html('{} <a href="{}" class="changelink" title="Open the course">open</a>', link, page)

    @admin.display(description="course title")
    def course_title(self, obj: Enrollment) -> str:
        try:
            return course_titles_get(course_ids=[obj.course_id]).get(obj.course_id, "(missing course)")
        except STORE_OUTAGES:
            return UNKNOWN_TITLE
