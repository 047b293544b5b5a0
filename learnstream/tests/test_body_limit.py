"""One body cap for every request (issue 10, item 8), in-process. The live-gunicorn half (a 10 GiB
multipart body, no temp file) is tests/test_body_limit_live.py."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.test.client import BOUNDARY, encode_multipart

from accounts.tokens import issue_token_pair
from catalog.repositories.base import collection
from tests import routes

OVER_CAP = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1


def _multipart_with_file(size: int) -> bytes:
    return encode_multipart(BOUNDARY, {"title": "Big", "level": "beginner", "file": _File(b"x" * size)})


class _File:
    """A file-like part for encode_multipart (it reads `.name` and `.read()`)."""

    def __init__(self, data: bytes) -> None:
        self.name = "big.bin"
        self._data = data

    def read(self) -> bytes:
        return self._data


def _bearer(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token_pair(user)[0]}"}


@pytest.mark.django_db
def test_a_multipart_file_part_over_the_cap_is_413_and_nothing_is_created(instructor: Any) -> None:
    """Django applies DATA_UPLOAD_MAX_MEMORY_SIZE to form fields only; the file part is the bypass."""
    body = _multipart_with_file(OVER_CAP)
    response = Client().generic(
        "POST",
        "/api/v1/courses/",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **_bearer(instructor),
    )
    assert response.status_code == 413, response.content[:300]
    assert response.json() == {
        "error": {"code": "request_too_large", "message": "The request body is too large.", "details": {}}
    }
    assert collection("courses").count_documents({}) == 0


@pytest.mark.django_db
def test_a_multipart_body_under_the_cap_still_works(instructor: Any) -> None:
    body = encode_multipart(BOUNDARY, {"title": "Small", "level": "beginner"})
    response = Client().generic(
        "POST",
        "/api/v1/courses/",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **_bearer(instructor),
    )
    assert response.status_code == 201, response.content[:300]
    assert collection("courses").count_documents({"title": "Small"}) == 1


@pytest.mark.django_db
def test_a_delete_with_a_body_over_the_cap_is_413(instructor: Any) -> None:
    response = Client().generic(
        "DELETE",
        "/api/v1/courses/0123456789abcdef01234567/",
        b"x" * OVER_CAP,
        content_type="application/octet-stream",
        **_bearer(instructor),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_body_of_a_safe_method_is_never_parsed(method: str) -> None:
    """The catalog's operator-key guard reads request.data on every request: a GET body with a
    `$where` key was parsed and refused (400). Now a safe method's body is dropped unread."""
    response = Client().generic(
        method, "/api/v1/courses/", b'{"$where": "sleep(1000)"}', content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]


@pytest.mark.django_db
def test_a_safe_method_with_a_body_over_the_cap_is_answered_not_refused() -> None:
    response = Client().generic(
        "GET",
        "/api/v1/courses/",
        _multipart_with_file(OVER_CAP),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_every_unsafe_operation_documents_413() -> None:
    schema = routes.load_schema()
    missing = [
        (method, path)
        for method, path in routes.schema_operations(schema)
        if method in ("POST", "PUT", "PATCH", "DELETE")
        and "413" not in schema["paths"][path][method.lower()]["responses"]
    ]
    assert missing == []


def test_a_refused_body_still_carries_the_cors_and_security_headers(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = Client().generic(
        "POST",
        "/api/v1/courses/",
        data=b"x",
        content_type="application/json",
        CONTENT_LENGTH=str(OVER_CAP),
        HTTP_ORIGIN="https://app.example.com",
    )

    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response["X-Content-Type-Options"] == "nosniff"
