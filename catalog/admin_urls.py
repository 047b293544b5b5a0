"""The MongoDB catalog's admin pages, mounted by learnstream/urls.py at `admin/catalog/` before
`admin.site.urls`. `admin_view` makes each page admin-only (login redirect otherwise), CSRF-protected
and uncached, exactly like the ModelAdmin pages around them."""

from django.contrib import admin
from django.urls import path

from catalog import admin_views

app_name = "catalog_admin"

urlpatterns = [
    path("courses/", admin.site.admin_view(admin_views.course_list_view), name="course_list"),
    path(
        "courses/<str:course_id>/",
        admin.site.admin_view(admin_views.course_change_view),
        name="course_change",
    ),
    path("lessons/", admin.site.admin_view(admin_views.lesson_list_view), name="lesson_list"),
    path(
        "lessons/<str:lesson_id>/",
        admin.site.admin_view(admin_views.lesson_change_view),
        name="lesson_change",
    ),
]
