"""Courses API: create, read, update, publish/unpublish, archive, listing filters and visibility."""

import pytest

from catalog import selectors
from catalog.repositories.base import collection
from catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

COURSES = "/api/v1/courses/"


def _course_count() -> int:
    return collection("courses").count_documents({})


def test_instructor_creates_draft_course_with_generated_slug(client_for, instructor):
    client = client_for(instructor)

    response = client.post(
        COURSES,
        {
            "title": "Intro to Django!",
            "description": "Basics",
            "tags": ["Python", "web", "python"],
            "level": "beginner",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id", "title", "slug", "description", "tags", "level", "status", "instructor", "lesson_count",
        "total_duration", "created_at", "updated_at", "published_at",
        "sequential", "prerequisites",  # v1.1 release rules
        "downloadable",
        "enrollment", "capacity", "enrollment_opens_at", "enrollment_closes_at", "access_days",
        "price",  # v1.1 commerce: null = free
    }  # fmt: skip
    assert body["downloadable"] is False
    assert body["price"] is None
    assert body["slug"] == "intro-to-django"
    assert body["status"] == "draft"
    assert body["tags"] == ["python", "web"]
    assert body["instructor"] == {"id": instructor.id, "name": "Ins Tructor"}
    assert body["lesson_count"] == 0
    assert body["total_duration"] == 0.0
    assert body["published_at"] is None
    stored = selectors.course_get(course_id=body["id"])
    assert stored is not None
    assert stored["owner_id"] == instructor.id


def test_generated_slug_collisions_get_a_suffix(client_for, instructor, other_instructor):
    first = client_for(instructor).post(COURSES, {"title": "Go", "level": "beginner"}, format="json")
    second = client_for(other_instructor).post(COURSES, {"title": "Go", "level": "beginner"}, format="json")
    third = client_for(instructor).post(COURSES, {"title": "GO!", "level": "advanced"}, format="json")

    assert [r.json()["slug"] for r in (first, second, third)] == ["go", "go-2", "go-3"]


def test_explicit_slug_taken_is_409_and_nothing_is_written(client_for, instructor):
    client = client_for(instructor)
    client.post(COURSES, {"title": "A", "slug": "my-course", "level": "beginner"}, format="json")

    response = client.post(COURSES, {"title": "B", "slug": "my-course", "level": "beginner"}, format="json")

    error = assert_error(response, 409, "conflict")
    assert error["details"] == {"slug": ["This slug is already taken."]}
    assert _course_count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"level": "beginner"}, "title"),
        ({"title": "   ", "level": "beginner"}, "title"),
        ({"title": "x" * 201, "level": "beginner"}, "title"),
        ({"title": "T", "level": "expert"}, "level"),
        ({"title": "T", "level": "beginner", "slug": "Not A Slug"}, "slug"),
        ({"title": "T", "level": "beginner", "tags": {"a": 1}}, "tags"),
        ({"title": "T", "level": "beginner", "tags": {"$ne": 1}}, "body"),
        ({"title": "T", "level": "beginner", "tags": ["ok", "bad tag!"]}, "tags"),
        ({"title": "T", "level": "beginner", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"title": {"x": 1}, "level": "beginner"}, "title"),
    ],
)
def test_create_validation_errors_are_400_with_field_details(client_for, instructor, payload, field):
    response = client_for(instructor).post(COURSES, payload, format="json")

    error = assert_error(response, 400, "validation_error")
    assert field in error["details"]
    assert _course_count() == 0


def test_read_only_fields_in_body_are_ignored(client_for, instructor, other_instructor):
    response = client_for(instructor).post(
        COURSES,
        {
            "title": "T",
            "level": "beginner",
            "status": "published",
            "owner_id": other_instructor.id,
            "id": "x",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    assert response.json()["instructor"]["id"] == instructor.id


def test_students_and_anonymous_cannot_create_courses(client_for, student, api_client):
    assert_error(client_for(student).post(COURSES, {"title": "T", "level": "beginner"}, format="json"), 403)
    assert_error(api_client.post(COURSES, {"title": "T", "level": "beginner"}, format="json"), 401)
    assert _course_count() == 0


def test_detail_shows_counts_duration_and_instructor(api_client, instructor, make_course):
    course = make_course(instructor, durations=[60.0, 90.5, None], publish=True)

    response = api_client.get(f"{COURSES}{course['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["lesson_count"] == 3
    assert body["total_duration"] == 150.5
    assert body["instructor"] == {"id": instructor.id, "name": "Ins Tructor"}
    assert body["status"] == "published"
    assert body["published_at"] is not None


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_unpublished_courses_are_404_to_others_and_visible_to_owner_and_admin(
    client_for, api_client, instructor, other_instructor, student, admin_user, make_course, status
):
    course = make_course(instructor, lessons=1, publish=True)
    owner = client_for(instructor)
    if status == "draft":
        owner.post(f"{COURSES}{course['id']}/unpublish")
    else:
        owner.delete(f"{COURSES}{course['id']}")
    url = f"{COURSES}{course['id']}"

    for client in (api_client, client_for(student), client_for(other_instructor)):
        assert_error(client.get(url), 404, "not_found")
        assert_error(client.get(f"{url}/lessons/"), 404, "not_found")
    assert owner.get(url).json()["status"] == status
    assert client_for(admin_user).get(url).json()["status"] == status


def test_malformed_and_unknown_ids_are_404(api_client):
    assert_error(api_client.get(f"{COURSES}not-an-id"), 404)
    assert_error(api_client.get(f"{COURSES}{'f' * 24}"), 404)


def test_owner_patches_editable_fields_only(client_for, instructor, make_course):
    course = make_course(instructor, title="Old")
    client = client_for(instructor)

    response = client.patch(
        f"{COURSES}{course['id']}",
        {"title": "New", "tags": ["a"], "status": "published", "owner_id": 999, "slug": "new-slug"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["tags"], body["status"], body["slug"]) == ("New", ["a"], "draft", "new-slug")
    assert body["instructor"]["id"] == instructor.id


def test_patch_slug_to_taken_one_is_409_and_unchanged(client_for, instructor, make_course):
    make_course(instructor, title="Taken")
    course = make_course(instructor, title="Mine")

    response = client_for(instructor).patch(f"{COURSES}{course['id']}", {"slug": "taken"}, format="json")

    assert_error(response, 409)
    assert selectors.course_get(course_id=course["id"])["slug"] == "mine"


def test_other_instructor_cannot_modify_published_course_403_or_draft_404(
    client_for, instructor, other_instructor, make_course
):
    published = make_course(instructor, lessons=1, publish=True)
    draft = make_course(instructor)
    intruder = client_for(other_instructor)

    assert_error(intruder.patch(f"{COURSES}{published['id']}", {"title": "X"}, format="json"), 403)
    assert_error(intruder.delete(f"{COURSES}{published['id']}"), 403)
    assert_error(intruder.post(f"{COURSES}{published['id']}/unpublish"), 403)
    assert_error(intruder.patch(f"{COURSES}{draft['id']}", {"title": "X"}, format="json"), 404)
    assert_error(intruder.post(f"{COURSES}{draft['id']}/publish"), 404)
    assert selectors.course_get(course_id=published["id"])["title"] == published["title"]
    assert selectors.course_get(course_id=published["id"])["status"] == "published"
    assert selectors.course_get(course_id=draft["id"])["status"] == "draft"


def test_admin_can_edit_any_course(client_for, admin_user, instructor, make_course):
    course = make_course(instructor, lessons=1)

    response = client_for(admin_user).post(f"{COURSES}{course['id']}/publish")

    assert response.status_code == 200
    assert response.json()["status"] == "published"


def test_publish_needs_a_lesson(client_for, instructor, make_course):
    course = make_course(instructor)

    error = assert_error(client_for(instructor).post(f"{COURSES}{course['id']}/publish"), 409)

    assert "lessons" in error["details"]
    assert selectors.course_get(course_id=course["id"])["status"] == "draft"


def test_publish_keeps_first_published_at_and_is_idempotent(client_for, instructor, make_course):
    course = make_course(instructor, lessons=1)
    client = client_for(instructor)
    first = client.post(f"{COURSES}{course['id']}/publish").json()["published_at"]

    assert client.post(f"{COURSES}{course['id']}/publish").json()["published_at"] == first
    assert client.post(f"{COURSES}{course['id']}/unpublish").json()["status"] == "draft"
    again = client.post(f"{COURSES}{course['id']}/publish").json()
    assert (again["status"], again["published_at"]) == ("published", first)


def test_archive_is_soft_delete_and_archived_courses_are_read_only(
    client_for, instructor, student, make_course
):
    course = make_course(instructor, lessons=1, publish=True)
    client_for(student).post(f"{COURSES}{course['id']}/enroll")
    owner = client_for(instructor)

    assert owner.delete(f"{COURSES}{course['id']}").status_code == 204
    assert owner.delete(f"{COURSES}{course['id']}").status_code == 204  # idempotent

    assert selectors.course_get(course_id=course["id"])["status"] == "archived"
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is True
    assert_error(owner.patch(f"{COURSES}{course['id']}", {"title": "X"}, format="json"), 409)
    assert_error(owner.post(f"{COURSES}{course['id']}/publish"), 409)
    assert_error(owner.post(f"{COURSES}{course['id']}/lessons/", {"title": "L"}, format="json"), 409)
    assert owner.get(COURSES).json()["count"] == 0


def test_listing_visibility_per_role(
    client_for, api_client, instructor, other_instructor, admin_user, make_course
):
    pub = make_course(instructor, lessons=1, publish=True)
    own_draft = make_course(instructor)
    other_draft = make_course(other_instructor)
    archived = make_course(instructor, lessons=1, publish=True)
    client_for(instructor).delete(f"{COURSES}{archived['id']}")

    def ids(client, query=""):
        return {c["id"] for c in client.get(f"{COURSES}{query}").json()["results"]}

    assert ids(api_client) == {pub["id"]}
    assert ids(client_for(instructor)) == {pub["id"], own_draft["id"]}
    assert ids(client_for(other_instructor)) == {pub["id"], other_draft["id"]}
    assert ids(client_for(admin_user)) == {pub["id"], own_draft["id"], other_draft["id"]}
    assert ids(client_for(admin_user), "?status=archived") == {archived["id"]}
    assert ids(client_for(instructor), "?status=archived") == {archived["id"]}
    assert ids(client_for(other_instructor), "?status=archived") == set()
    assert ids(api_client, "?status=draft") == set()


def test_listing_filters_and_ordering(api_client, instructor, other_instructor, make_course):
    a = make_course(
        instructor, title="Python Basics", tags=["python"], level="beginner", lessons=1, publish=True
    )
    b = make_course(
        instructor, title="advanced Rust", tags=["rust"], level="advanced", lessons=1, publish=True
    )
    c = make_course(
        other_instructor, title="Web (a.k.a. HTTP)", tags=["web", "python"], lessons=1, publish=True
    )

    def titles(query):
        response = api_client.get(f"{COURSES}{query}")
        assert response.status_code == 200, response.content
        return [x["title"] for x in response.json()["results"]]

    assert titles("?ordering=title") == [b["title"], a["title"], c["title"]]
    assert titles("") == [c["title"], b["title"], a["title"]]  # newest publication first
    assert titles("?ordering=-created_at") == [c["title"], b["title"], a["title"]]
    assert titles("?tag=python&ordering=title") == [a["title"], c["title"]]
    assert titles("?level=advanced") == [b["title"]]
    assert titles(f"?instructor={other_instructor.id}") == [c["title"]]
    assert titles("?search=PYTHON&ordering=title") == [a["title"], c["title"]]  # title or tag, any case
    assert titles("?search=a.k.a. (") == []  # regex metacharacters are literal
    assert titles("?search=(a.k.a.") == [c["title"]]
    assert_error(api_client.get(f"{COURSES}?ordering=owner_id"), 400)
    assert_error(api_client.get(f"{COURSES}?search={'x' * 101}"), 400)
    assert_error(api_client.get(f"{COURSES}?instructor=abc"), 400)


def test_page_size_is_capped_at_100(api_client, instructor):
    from catalog.services.common import now as _now

    now = _now()
    collection("courses").insert_many(
        [
            {
                "title": f"C{i:03}",
                "title_sort": f"c{i:03}",
                "slug": f"c{i}",
                "description": "",
                "tags": [],
                "level": "beginner",
                "status": "published",
                "owner_id": instructor.id,
                "lesson_ids": [],
                "created_at": now,
                "updated_at": now,
                "published_at": now,
            }
            for i in range(105)
        ]
    )

    response = api_client.get(f"{COURSES}?page_size=100000&limit={10**9}")

    body = response.json()
    assert body["count"] == 105
    assert len(body["results"]) == 100
    assert body["next"] is not None
    second = api_client.get(f"{COURSES}?page_size=100000&page=2").json()
    assert len(second["results"]) == 5
    assert {c["id"] for c in body["results"]}.isdisjoint({c["id"] for c in second["results"]})
    assert_error(api_client.get(f"{COURSES}?page=3&page_size=100"), 404)
    assert_error(api_client.get(f"{COURSES}?page={10**40}"), 404)
    for bad in ("page=0", "page=", "page=x", "page_size=0", "page_size=-5", "page_size=abc"):
        assert (
            "page"
            in assert_error(api_client.get(f"{COURSES}?{bad}"), 400, "validation_error")["details"].popitem()[
                0
            ]
        )
