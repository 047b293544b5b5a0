"""Admin-site pages for the MongoDB catalog: courses and lessons are not ORM models, so instead of
ModelAdmins pretending otherwise these are plain views over the catalog's selectors and services
(the same rules as the API: publish needs a lesson, archived courses are read-only, reorders are
atomic). Admin-only: every view is wrapped in `admin.site.admin_view` by `catalog/admin_urls.py`.

Input is validated by the API's own write serializers, so the admin cannot store what the API would
refuse. A MongoDB outage renders a 503 page, never a 500.
"""

import logging
import math
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog import services
from catalog.admin_selectors import AdminLessonRow, course_lessons_admin_list, lesson_admin_search
from catalog.layout import curriculum_order, section_of, unsectioned
from catalog.pagination import MAX_PAGE_NUMBER
from catalog.selectors.courses import (
    CourseListParams,
    course_detail_of,
    course_get,
    course_list_query,
    course_page,
)
from catalog.selectors.lessons import lesson_get, lesson_position
from catalog.serializers import (
    LEVEL_CHOICES,
    MAX_SEARCH_LENGTH,
    CourseWriteSerializer,
    LessonWriteSerializer,
)
from catalog.types import (
    COURSE_STATUSES,
    ENROLLMENT_MODES,
    ENROLLMENT_POLICY_FIELDS,
    VIDEO_STATUSES,
    Course,
    Lesson,
)
from catalog.video.tracks import ready_download, track_rows
from learnstream.errors import STORE_OUTAGES, ApplicationError, ServiceUnavailable, ValidationFailed
from learnstream.permissions import Actor

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
View = Callable[..., HttpResponse]
# A store outage (or a service saying so): the page answers 503 instead of pretending to work.
UNAVAILABLE: tuple[type[BaseException], ...] = (ServiceUnavailable, *STORE_OUTAGES)


# --- plumbing ---------------------------------------------------------------------------------------
def store_guard(view: View) -> View:
    """MongoDB (or PostgreSQL) down → a 503 page that says so, instead of Django's 500."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except UNAVAILABLE as exc:
            logger.warning("admin catalog page: store unavailable: %s", type(exc).__name__)
            context = {**admin.site.each_context(request), "title": "Catalog unavailable"}
            return render(request, "admin/catalog/unavailable.html", context, status=503)

    return wrapped


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), **extra}


def _apply_errors(form: forms.Form, errors: dict[str, Any] | None, fallback: str) -> None:
    """Put service/serializer errors on the matching form fields; anything else becomes `fallback`
    (the error's own sentence) at the top of the form."""
    unplaced = not errors
    for field, messages_ in (errors or {}).items():
        if field not in form.fields:
            unplaced = True
            continue
        for message in messages_ if isinstance(messages_, list) else [messages_]:
            form.add_error(field, str(message))
    if unplaced:
        form.add_error(None, fallback)


def _page_number(request: HttpRequest) -> int:
    """The requested page, 1 if unreadable; clamped so the offset stays a MongoDB int (no 500)."""
    try:
        return min(max(1, int(request.GET.get("page", "1"))), MAX_PAGE_NUMBER)
    except ValueError:
        return 1


def _pagination(request: HttpRequest, *, page: int, total: int) -> dict[str, Any]:
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def link(number: int) -> str:
        params = {k: v for k, v in request.GET.items() if k != "page" and v}
        return "?" + urlencode({**params, "page": number})

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "previous_url": link(page - 1) if page > 1 else "",
        "next_url": link(page + 1) if page < pages else "",
    }


def _changed(fields: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if current.get(key) != value}


def _load_course(course_id: str) -> Course:
    course = course_get(course_id=course_id)
    if course is None:
        raise Http404("No such course.")
    return course


def _load_lesson(lesson_id: str) -> Lesson:
    lesson = lesson_get(lesson_id=lesson_id)
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


# --- forms ------------------------------------------------------------------------------------------
STATUS_FILTERS = [("", "Draft and published"), *[(s, s.capitalize()) for s in COURSE_STATUSES]]
VIDEO_FILTERS = [("", "Any"), *[(s, s.replace("_", " ")) for s in VIDEO_STATUSES]]


class CourseFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH, label="Title or tag")
    status = forms.ChoiceField(required=False, choices=STATUS_FILTERS)


class LessonFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        label="Title, lesson id or Mux id (upload/asset/playback)",
    )
    video_status = forms.ChoiceField(required=False, choices=VIDEO_FILTERS, label="Video status")


class CourseEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=80, help_text="Lower-case words joined by hyphens; must be unique.")
    description = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}))
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. python, web.")
    level = forms.ChoiceField(choices=LEVEL_CHOICES)
    sequential = forms.BooleanField(
        required=False, help_text="Release rule: each lesson opens once the previous one is completed."
    )
    prerequisites = forms.CharField(
        required=False, help_text="Comma-separated ids of published courses to complete before enrolling."
    )
    downloadable = forms.BooleanField(
        required=False, help_text="Learners get a signed MP4 download of each lesson's video."
    )
    # Enrollment policy (catalog/policy.py); validated again by the API's serializer and the service.
    enrollment = forms.ChoiceField(
        required=False,  # a form posted without it keeps the current mode
        choices=[(mode, mode.replace("_", " ")) for mode in ENROLLMENT_MODES],
        help_text="Invite only: learners cannot enroll themselves; staff enroll or invite them.",
    )
    capacity = forms.IntegerField(
        required=False, min_value=0, help_text="Seat cap (active enrollments); empty = no cap."
    )
    enrollment_opens_at = forms.DateTimeField(
        required=False, help_text="UTC, e.g. 2026-01-31 09:00. Empty = already open."
    )
    enrollment_closes_at = forms.DateTimeField(required=False, help_text="UTC. Empty = never closes.")
    access_days = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Days of access from each enrollment's start; empty = no expiry. A change applies to "
        "enrollments that start afterwards.",
    )

    @classmethod
    def initial_for(cls, course: Course) -> dict[str, Any]:
        return {
            "title": course["title"],
            "slug": course["slug"],
            "description": course["description"],
            "level": course["level"],
            "tags": ", ".join(course["tags"]),
            "sequential": course["sequential"],
            "prerequisites": ", ".join(course["prerequisites"]),
            "downloadable": course["downloadable"],
            **{field: course[field] for field in ENROLLMENT_POLICY_FIELDS},  # type: ignore[literal-required]
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("enrollment"):
            cleaned.pop("enrollment", None)
        return cleaned


class LessonEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))
    position = forms.IntegerField(
        min_value=1,
        help_text="1-based place in the course (within its section when the course has sections); the "
        "others shift.",
    )
    is_preview = forms.BooleanField(required=False, help_text="Preview lessons can be played by anyone.")
    section_id = forms.ChoiceField(required=False, label="Section", choices=[])
    available_after_days = forms.IntegerField(
        required=False, min_value=0, label="Available after (days)", help_text="Drip: days after enrollment."
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— none —"), *((s["id"], s["title"]) for s in course["sections"])]
        self.fields["section_id"].choices = choices  # type: ignore[attr-defined]


def _validated(form: forms.Form, serializer_class: type, current: dict[str, Any]) -> dict[str, Any] | None:
    """Run the API's write serializer over the form's data; the changed fields, or None on errors."""
    serializer = serializer_class(data=form.cleaned_data, partial=True)
    if not serializer.is_valid():
        _apply_errors(form, serializer.errors, "The values are invalid.")
        return None
    return _changed(dict(serializer.validated_data), current)


def curriculum_group(course: Course, section_id: str | None) -> list[str]:
    """The lessons of one section (or the unsectioned ones), in order."""
    for section in course["sections"]:
        if section["id"] == section_id:
            return section["lesson_ids"]
    return unsectioned(course["sections"], curriculum_order(course["sections"], course["lesson_ids"]))


# --- courses ----------------------------------------------------------------------------------------
@store_guard
@require_http_methods(["GET"])
def course_list_view(request: HttpRequest) -> HttpResponse:
    form = CourseFilterForm(request.GET or None)
    search, status = None, None
    if form.is_bound and form.is_valid():
        search = form.cleaned_data["q"].strip() or None
        status = form.cleaned_data["status"] or None
    page = _page_number(request)
    query = course_list_query(
        actor=Actor.of(request.user),
        params=CourseListParams(search=search, status=status, ordering="-created_at"),
    )
    result = course_page(query=query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    context = _context(
        request,
        title="Courses",
        subtitle="Catalog (MongoDB)",
        form=form if form.is_bound else CourseFilterForm(),
        courses=result.items,
        status_filters=STATUS_FILTERS,
        current_status=status or "",
        search=search or "",
        **_pagination(request, page=page, total=result.total),
    )
    return render(request, "admin/catalog/course_list.html", context)


def _reorder(course: Course, post: Any) -> list[str] | None:
    """The new order from the `position-<lesson id>` inputs (ties keep the current order); None if a
    position is not a positive integer."""
    keyed: list[tuple[int, int, str]] = []
    for index, lesson_id in enumerate(course["lesson_ids"]):
        try:
            position = int(post.get(f"position-{lesson_id}", index + 1))
        except (TypeError, ValueError):
            return None
        if position < 1:
            return None
        keyed.append((position, index, lesson_id))
    return [lesson_id for _p, _i, lesson_id in sorted(keyed)]


SECTION_ACTIONS = frozenset({"section_add", "section_save", "section_delete"})


def _placement(course: Course, post: Any) -> dict[str, str | None]:
    """Lessons whose `section-<lesson id>` select names another section ("" = none)."""
    known = {s["id"] for s in course["sections"]}
    moves: dict[str, str | None] = {}
    for lesson_id in course["lesson_ids"]:
        key = f"section-{lesson_id}"
        if key not in post:
            continue
        wanted = post.get(key) or None
        if wanted is not None and wanted not in known:
            raise ValidationFailed("Unknown section.")
        if wanted != section_of(course["sections"], lesson_id):
            moves[lesson_id] = wanted
    return moves


def _section_action(request: HttpRequest, course: Course, action: str) -> None:
    """Add a section; save the sections' titles and order; delete an (empty) section."""
    if action == "section_add":
        title = (request.POST.get("section_title") or "").strip()
        if not title or len(title) > 200:
            messages.error(request, "A section needs a title of 1-200 characters.")
            return
        services.section_create(course=course, title=title)
        messages.success(request, f"Section “{title}” added.")
    elif action == "section_delete":
        services.section_delete(course=course, section_id=request.POST.get("section_id", ""))
        messages.success(request, "Section deleted.")
    else:
        keyed: list[tuple[int, int, str]] = []
        for index, section in enumerate(course["sections"]):
            try:
                position = int(request.POST.get(f"section-position-{section['id']}", index + 1))
            except (TypeError, ValueError):
                position = 0
            if position < 1:
                messages.error(request, "Positions must be whole numbers from 1.")
                return
            keyed.append((position, index, section["id"]))
        for section in course["sections"]:
            title = (request.POST.get(f"section-title-{section['id']}") or section["title"]).strip()
            if title != section["title"] and 0 < len(title) <= 200:
                course = services.section_update(
                    course=course, section_id=section["id"], title=title, position=None
                )
        order = [sid for _p, _i, sid in sorted(keyed)]
        if order != [s["id"] for s in course["sections"]]:
            services.sections_reorder(course=course, section_ids=order)
        messages.success(request, "Sections saved.")


def _course_action(request: HttpRequest, course: Course) -> tuple[HttpResponse | None, CourseEditForm | None]:
    """Handle one POSTed action; a redirect on success, else the bound form to re-render."""
    action = request.POST.get("action", "")
    here = HttpResponseRedirect(request.path)
    try:
        if action == "save":
            form = CourseEditForm(request.POST)
            if not form.is_valid():
                return None, form
            fields = _validated(form, CourseWriteSerializer, dict(course))
            if fields is None:
                return None, form
            if not fields:
                messages.info(request, "No changes.")
                return here, None
            try:
                services.course_update(course=course, fields=fields)
            except ApplicationError as exc:
                _apply_errors(form, exc.details, exc.message)
                return None, form
            messages.success(request, f"Saved {', '.join(sorted(fields))}.")
        elif action == "publish":
            services.course_publish(course=course)
            messages.success(request, "The course is published.")
        elif action == "unpublish":
            services.course_unpublish(course=course)
            messages.success(request, "The course is back to draft.")
        elif action == "archive":
            if request.POST.get("confirm") != "yes":
                return None, None  # re-render with the confirmation box
            services.course_archive(course=course)
            messages.success(request, "The course is archived: it left every listing; enrollments stay.")
        elif action == "reorder":
            order = _reorder(course, request.POST)
            placement = _placement(course, request.POST)
            if order is None:
                messages.error(request, "Positions must be whole numbers from 1.")
            elif order == course["lesson_ids"] and not placement:
                messages.info(request, "The order is unchanged.")
            else:
                services.lesson_reorder(course=course, lesson_ids=order, placement=placement or None)
                messages.success(request, "Lessons reordered.")
        elif action in SECTION_ACTIONS:
            _section_action(request, course, action)
        else:
            messages.error(request, "Unknown action.")
    except UNAVAILABLE:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return here, None


@store_guard
@require_http_methods(["GET", "POST"])
def course_change_view(request: HttpRequest, course_id: str) -> HttpResponse:
    course = _load_course(course_id)
    form: CourseEditForm | None = None
    confirm_archive = False
    if request.method == "POST":
        response, form = _course_action(request, course)
        if response is not None:
            return response
        confirm_archive = request.POST.get("action") == "archive" and form is None
    detail = course_detail_of(course=course)
    lessons = course_lessons_admin_list(course=course)
    placed = {lid: s["id"] for s in course["sections"] for lid in s["lesson_ids"]}
    context = _context(
        request,
        title=course["title"],
        subtitle="Course",
        course=detail,
        form=form or CourseEditForm(initial=CourseEditForm.initial_for(course)),
        lessons=[{**_lesson_row(row), "section_id": placed.get(row.lesson["id"], "")} for row in lessons],
        sections=[{**s, "position": i + 1} for i, s in enumerate(course["sections"])],
        read_only=course["status"] == "archived",
        confirm_archive=confirm_archive,
        instructor_url=_user_url(course["owner_id"]),
    )
    return render(request, "admin/catalog/course_change.html", context)


# --- lessons ----------------------------------------------------------------------------------------
def _user_url(user_id: int) -> str:
    return reverse("admin:accounts_user_change", args=[user_id])


def _video(lesson: Lesson) -> dict[str, Any]:
    video = lesson["video"] or {}
    errors = video.get("errors") or {}
    return {
        "status": str(video.get("status") or "none"),
        "upload_id": video.get("upload_id") or "",
        "asset_id": video.get("asset_id") or "",
        "playback_id": video.get("playback_id") or "",
        "playback_asset_id": video.get("playback_asset_id") or "",
        "aspect_ratio": video.get("aspect_ratio") or "",
        "errors": [str(m) for m in errors.get("messages", [])] if isinstance(errors, dict) else [],
        "error_type": str(errors.get("type", "")) if isinstance(errors, dict) else "",
        "tracks": track_rows(video),
        "download": (ready_download(video) or {}).get("name", ""),
    }


def _lesson_row(row: AdminLessonRow) -> dict[str, Any]:
    return {
        "lesson": row.lesson,
        "position": row.position,
        "course_id": row.course_id,
        "course_title": row.course_title,
        "video": _video(row.lesson),
    }


@store_guard
@require_http_methods(["GET"])
def lesson_list_view(request: HttpRequest) -> HttpResponse:
    form = LessonFilterForm(request.GET or None)
    text, video_status = None, None
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["q"].strip() or None
        video_status = form.cleaned_data["video_status"] or None
    page = _page_number(request)
    total, rows = lesson_admin_search(
        text=text, video_status=video_status, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = _context(
        request,
        title="Lessons",
        subtitle="Catalog (MongoDB)",
        form=form if form.is_bound else LessonFilterForm(),
        lessons=[_lesson_row(row) for row in rows],
        video_filters=VIDEO_FILTERS,
        current_video_status=video_status or "",
        search=text or "",
        **_pagination(request, page=page, total=total),
    )
    return render(request, "admin/catalog/lesson_list.html", context)


@store_guard
@require_http_methods(["GET", "POST"])
def lesson_change_view(request: HttpRequest, lesson_id: str) -> HttpResponse:
    lesson = _load_lesson(lesson_id)
    course = _load_course(lesson["course_id"])
    position = lesson_position(course=course, lesson_id=lesson_id)
    section_id = section_of(course["sections"], lesson_id)
    group = curriculum_group(course, section_id)
    # The form's position is within the lesson's section when the course has sections (as the API's).
    form_position = group.index(lesson_id) + 1 if course["sections"] and lesson_id in group else position
    current = {**lesson, "position": form_position, "section_id": section_id}
    read_only = course["status"] == "archived" or position == 0
    if request.method == "POST" and read_only:
        messages.error(request, "This lesson cannot be edited: its course is archived or no longer lists it.")
        return HttpResponseRedirect(request.path)
    if request.method == "POST":
        form = LessonEditForm(request.POST, course=course)
        if form.is_valid():
            fields = _validated(form, LessonWriteSerializer, current)
            if fields is not None and not fields:
                messages.info(request, "No changes.")
                return HttpResponseRedirect(request.path)
            if fields:
                try:
                    services.lesson_update(lesson=lesson, course=course, fields=fields)
                except UNAVAILABLE:
                    raise
                except ApplicationError as exc:
                    _apply_errors(form, exc.details, exc.message)
                else:
                    messages.success(request, f"Saved {', '.join(sorted(fields))}.")
                    return HttpResponseRedirect(request.path)
    else:
        keys = ("title", "description", "position", "is_preview", "section_id", "available_after_days")
        form = LessonEditForm(initial={k: current[k] for k in keys}, course=course)
    context = _context(
        request,
        title=lesson["title"],
        subtitle="Lesson",
        lesson=lesson,
        position=position,
        course=course,
        form=form,
        video=_video(lesson),
        read_only=read_only,
    )
    return render(request, "admin/catalog/lesson_change.html", context)
