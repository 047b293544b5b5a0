"""Role x endpoint: every cell of the catalog's permission table (another instructor's course;
BOLA on another student's progress is covered in test_views_progress). Each cell runs on fresh data:
a published course P (2 lessons) and a draft D (1 lesson), both owned by `instructor`."""

import pytest

from catalog import selectors

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "enrolled", "other_instructor", "owner", "admin")

# (method, path, body, expected status per role in ROLES order)
MATRIX = [
    ("get", "courses/", None, (200, 200, 200, 200, 200, 200)),
    ("post", "courses/", {"title": "New", "level": "beginner"}, (401, 403, 403, 201, 201, 201)),
    ("get", "courses/{P}", None, (200, 200, 200, 200, 200, 200)),
    ("get", "courses/{D}", None, (404, 404, 404, 404, 200, 200)),
    ("patch", "courses/{P}", {"title": "X"}, (401, 403, 403, 403, 200, 200)),
    ("put", "courses/{P}", {"title": "X", "level": "advanced"}, (401, 403, 403, 403, 200, 200)),
    ("patch", "courses/{D}", {"title": "X"}, (401, 404, 404, 404, 200, 200)),
    ("delete", "courses/{P}", None, (401, 403, 403, 403, 204, 204)),
    ("delete", "courses/{D}", None, (401, 404, 404, 404, 204, 204)),
    ("post", "courses/{D}/publish", None, (401, 404, 404, 404, 200, 200)),
    ("post", "courses/{P}/unpublish", None, (401, 403, 403, 403, 200, 200)),
    ("get", "courses/{P}/lessons/", None, (200, 200, 200, 200, 200, 200)),
    ("get", "courses/{D}/lessons/", None, (404, 404, 404, 404, 200, 200)),
    ("post", "courses/{P}/lessons/", {"title": "L"}, (401, 403, 403, 403, 201, 201)),
    ("post", "courses/{D}/lessons/", {"title": "L"}, (401, 404, 404, 404, 201, 201)),
    ("post", "courses/{P}/lessons/reorder", {"lesson_ids": "{P_ORDER}"}, (401, 403, 403, 403, 200, 200)),
    ("get", "lessons/{P1}", None, (200, 200, 200, 200, 200, 200)),
    ("get", "lessons/{D1}", None, (404, 404, 404, 404, 200, 200)),
    ("patch", "lessons/{P1}", {"title": "X"}, (401, 403, 403, 403, 200, 200)),
    ("delete", "lessons/{P1}", None, (401, 403, 403, 403, 204, 204)),
    ("delete", "lessons/{D1}", None, (401, 404, 404, 404, 204, 204)),
    ("post", "courses/{P}/enroll", None, (401, 201, 200, 201, 201, 201)),
    ("post", "courses/{D}/enroll", None, (401, 404, 404, 404, 409, 409)),
    ("delete", "courses/{P}/enroll", None, (401, 404, 204, 404, 404, 404)),
    ("get", "enrollments/", None, (401, 200, 200, 200, 200, 200)),
    ("get", "courses/{P}/students/", None, (401, 403, 403, 403, 200, 200)),
    ("get", "courses/{D}/students/", None, (401, 404, 404, 404, 200, 200)),
    ("get", "courses/{P}/progress", None, (401, 403, 200, 403, 200, 200)),
    ("put", "lessons/{P1}/progress", {"position": 3}, (401, 403, 200, 403, 200, 200)),
    ("put", "lessons/{D1}/progress", {"position": 3}, (401, 404, 404, 404, 200, 200)),
    ("post", "lessons/{P1}/complete", None, (401, 403, 200, 403, 200, 200)),
    ("get", "me/progress", None, (401, 200, 200, 200, 200, 200)),
    ("get", "courses/{P}/analytics", None, (401, 403, 403, 403, 200, 200)),
    ("get", "analytics/overview", None, (401, 403, 403, 403, 403, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
def test_permission_matrix(
    method,
    path,
    body,
    expected,
    api_client,
    client_for,
    make_user,
    instructor,
    admin_user,
    make_course,
    enroll,
):
    users = {
        "student": make_user("student"),
        "enrolled": make_user("student"),
        "other_instructor": make_user("instructor"),
        "owner": instructor,
        "admin": admin_user,
    }
    clients = {role: client_for(user) for role, user in users.items()}
    clients["anonymous"] = api_client
    dirty = True
    for role, status in zip(ROLES, expected, strict=True):
        if dirty:  # fresh data after any successful write
            published = make_course(instructor, lessons=2, publish=True)
            draft = make_course(instructor, lessons=1)
            enroll(users["enrolled"], published)
        names = {
            "P": published["id"],
            "D": draft["id"],
            "P1": published["lesson_ids"][0],
            "D1": draft["lesson_ids"][0],
        }
        url = "/api/v1/" + path.format(**names)
        payload = body
        if body == {"lesson_ids": "{P_ORDER}"}:
            payload = {"lesson_ids": list(reversed(published["lesson_ids"]))}
        client = clients[role]

        response = (
            getattr(client, method)(url, payload, format="json") if payload else getattr(client, method)(url)
        )

        assert response.status_code == status, (role, method, url, response.content[:300])
        dirty = method != "get" and status < 400
        if status >= 400:
            assert set(response.json()) == {"error"}
            # Nothing changed on a refused request.
            assert selectors.course_get(course_id=published["id"]) == published
            assert selectors.course_get(course_id=draft["id"]) == draft
