"""`GET /api/v1/` lists the API's sections (issue 10, item 16): the README's entry point for instructors."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from learnstream.api_root import SECTIONS
from tests import routes


@pytest.mark.django_db
def test_the_api_root_lists_every_section_for_anonymous_callers() -> None:
    response = APIClient().get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "login": "http://testserver/api/v1/auth/token",
        "register": "http://testserver/api/v1/auth/register",
        "me": "http://testserver/api/v1/auth/me",
        "courses": "http://testserver/api/v1/courses",
        "enrollments": "http://testserver/api/v1/enrollments",
        "my_progress": "http://testserver/api/v1/me/progress",
        "analytics": "http://testserver/api/v1/analytics/overview",
        "users": "http://testserver/api/v1/users",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
    }


@pytest.mark.django_db
def test_every_listed_section_answers(admin_user: Any, client_for: Any) -> None:
    client = client_for(admin_user)
    links = APIClient().get("/api/v1/", HTTP_ACCEPT="application/json").json()
    statuses = {key: client.get(url).status_code for key, url in links.items()}
    # The token and register endpoints take POST only.
    assert statuses == {key: 405 if key in ("login", "register") else 200 for key in SECTIONS}


@pytest.mark.django_db
def test_the_api_root_is_browsable() -> None:
    response = APIClient().get("/api/v1/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"http://testserver/api/v1/courses" in response.content


def test_the_api_root_is_in_the_schema() -> None:
    schema = routes.load_schema()
    operation = schema["paths"]["/api/v1/"]["get"]
    assert operation["operationId"] == "api_root"
    assert operation["security"] == [{"jwtAuth": []}, {"cookieAuth": []}, {}]
