"""MongoDB operator injection through query strings and bodies is refused (400), fast, and the
safe queries' results equal the baseline."""

import time

import pytest

from catalog.repositories.base import collection
from catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(instructor, make_course):
    return make_course(instructor, title="Python", tags=["python"], lessons=1, publish=True)


@pytest.mark.parametrize(
    "query",
    [
        "?course_id[$ne]=x",
        "?search[$regex]=.*",
        "?tag[$ne]=nothing",
        "?instructor[$gt]=0",
        "?$where=sleep(1000)",
        "?status.x=1",
    ],
)
def test_operator_keys_in_query_strings_are_400(api_client, published, query):
    started = time.perf_counter()

    error = assert_error(api_client.get(f"/api/v1/courses/{query}"), 400, "validation_error")

    assert time.perf_counter() - started < 0.2
    assert "query" in error["details"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "T", "level": "beginner", "$where": "sleep(1000)"},
        {"title": {"$ne": None}, "level": "beginner"},
        {"title": "T", "level": "beginner", "tags": [{"$gt": ""}]},
        {"title": "T", "level": "beginner", "owner_id.x": 1},
        {"title": "T", "level": "beginner", "a": {"b": {"$set": {"status": "published"}}}},
    ],
)
def test_operator_keys_in_bodies_are_400_and_nothing_written(client_for, instructor, body):
    started = time.perf_counter()

    error = assert_error(client_for(instructor).post("/api/v1/courses/", body, format="json"), 400)

    assert time.perf_counter() - started < 0.2
    assert "body" in error["details"]
    assert collection("courses").count_documents({}) == 0


def test_operator_values_are_plain_strings_to_filters(api_client, published):
    baseline = api_client.get("/api/v1/courses/").json()["results"]

    assert api_client.get("/api/v1/courses/?search=.*").json()["results"] == []
    assert api_client.get('/api/v1/courses/?tag={"$ne": null}').json()["results"] == []
    assert api_client.get("/api/v1/courses/?search=pyth").json()["results"] == baseline
    assert_error(api_client.get('/api/v1/courses/?instructor={"$gt": 0}'), 400)


def test_enroll_and_progress_bodies_with_operators_are_400(client_for, student, published):
    client = client_for(student)

    assert_error(
        client.post(f"/api/v1/courses/{published['id']}/enroll", {"course_id": {"$ne": None}}, format="json"),
        400,
    )
    assert_error(
        client.put(
            f"/api/v1/lessons/{published['lesson_ids'][0]}/progress", {"position": {"$gt": 0}}, format="json"
        ),
        400,
    )
    assert collection("progress").count_documents({}) == 0


def test_path_ids_with_operators_are_404(api_client):
    assert_error(api_client.get('/api/v1/courses/{"$ne":1}'), 404)
    assert_error(api_client.get("/api/v1/lessons/$where"), 404)
