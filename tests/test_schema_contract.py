"""The OpenAPI schema states the conventions of docs/api.md for every operation.

Schemathesis only reports an undocumented status when it happens to provoke it. These rules are
checked on every operation instead, so an endpoint added later cannot skip them:
- any API operation can answer 503 (a backing store is down: docs/architecture.md, "Degradation");
- a paginated list can answer 404 (a page past the end) and takes `page` and `page_size`;
- an operation that requires credentials can answer 401; one with a body can answer 400 and 413;
- every error response is the error envelope;
- no credential ever travels in the query string.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import routes

SCHEMA = routes.load_schema()
OPERATIONS = [
    (method, path, SCHEMA["paths"][path][method.lower()])
    for method, path in routes.schema_operations(SCHEMA)
    if path.startswith(("/api/v1/", "/webhooks/", "/admin/"))
]
IDS = [f"{method} {path}" for method, path, _op in OPERATIONS]
CREDENTIAL_NAMES = {"token", "access", "refresh", "jwt", "access_token", "refresh_token", "api_key"}


def _requires_credentials(operation: dict[str, Any]) -> bool:
    security = operation.get("security", SCHEMA.get("security", []))
    return bool(security) and {} not in security


def _is_paginated_list(operation: dict[str, Any]) -> bool:
    schema = (
        operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    )
    ref = schema.get("$ref", "")
    if ref:
        schema = SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return "results" in schema.get("properties", {})


def _error_schema_refs(response: dict[str, Any]) -> set[str]:
    return {content.get("schema", {}).get("$ref", "") for content in response.get("content", {}).values()}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_operation_documents_the_conventions(method: str, path: str, operation: dict[str, Any]) -> None:
    documented = set(operation["responses"])
    params = {p["name"] for p in operation.get("parameters", [])}
    missing = []
    if "503" not in documented:
        missing.append("503 (a backing store is down)")
    if "page" in params and "404" not in documented:
        missing.append("404 (page past the end)")
    if _requires_credentials(operation) and "401" not in documented:
        missing.append("401 (credentials required)")
    if "requestBody" in operation and not {"400", "413"} <= documented:
        missing.append("400 and 413 (a body can be invalid or too large)")
    assert not missing, f"{method} {path} does not document: {', '.join(missing)}"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_error_responses_are_the_envelope(method: str, path: str, operation: dict[str, Any]) -> None:
    wrong = {
        status: refs
        for status, response in operation["responses"].items()
        if status[0] in "45"
        for refs in [_error_schema_refs(response)]
        if refs != {"#/components/schemas/ErrorEnvelope"}
    }
    assert not wrong, f"{method} {path}: error responses not described as the envelope: {wrong}"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_lists_are_paginated_and_credentials_stay_out_of_urls(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    query = {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "query"}
    assert not query & CREDENTIAL_NAMES, (
        f"{method} {path}: credential-like query parameters {query & CREDENTIAL_NAMES}"
    )
    if method == "GET" and _is_paginated_list(operation):
        assert {"page", "page_size"} <= query, f"{method} {path}: a list without page/page_size"
