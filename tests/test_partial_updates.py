"""PATCH changes exactly the fields that were sent — in JSON and in the form encoding the browsable
API submits (ASVS 15.3.3).

DRF reads an absent checkbox in an HTML form as False unless the serializer is partial, so a form
PATCH that only renames something can silently switch a boolean off. Every PATCH operation of the
schema needs a row here (same deny-by-default rule as the authorization matrix).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests import routes, scenario, skips

pytestmark = pytest.mark.django_db

# PATCH path → (who edits, which object, field to change, GET path that shows the object)
ROWS: dict[str, tuple[str, str | None, str]] = {
    "api/v1/auth/me": ("student", None, "name"),
    "api/v1/users/{}": ("admin", "user", "name"),
    "api/v1/courses/{}": ("owner", "course", "title"),
    "api/v1/lessons/{}": ("owner", "lesson", "title"),
    "api/v1/sections/{}": ("owner", "section", "title"),
}
# Objects without a GET of their own are read from their parent's list: PATCH path → (list path, its object).
LISTED_IN: dict[str, tuple[str, str]] = {"api/v1/sections/{}": ("api/v1/courses/{}/sections", "course")}
VOLATILE = {"updated_at", "slug"}  # a rename may legitimately touch these


def _read(api: scenario.Api, paths: scenario.Paths, world: scenario.World, norm: str, token: str) -> dict:
    """The object as its editor sees it: its own GET, or its entry in its parent's list."""
    _role, subject, _field = ROWS[norm]
    if norm not in LISTED_IN:
        reply = api("GET", paths(norm, world[subject]) if subject else paths(norm), token=token)
        assert reply.status == 200, reply.body
        return dict(reply.body)
    list_norm, parent = LISTED_IN[norm]
    reply = api("GET", paths(list_norm, world[parent]), token=token)
    assert reply.status == 200, reply.body
    assert subject is not None
    (found,) = [item for item in reply.body if item["id"] == world[subject]]
    return dict(found)


def test_every_patch_operation_has_a_row() -> None:
    patches = {routes.normalize(path) for method, path in routes.schema_operations() if method == "PATCH"}
    assert patches <= set(ROWS), f"PATCH operations without a row: {sorted(patches - set(ROWS))}"


def _accepts_form(paths: scenario.Paths, norm: str) -> bool:
    path = paths._by_norm[norm]
    content = paths.schema["paths"][path]["patch"].get("requestBody", {}).get("content", {})
    return "application/x-www-form-urlencoded" in content


@pytest.mark.parametrize("encoding", ["json", "form"])
@pytest.mark.parametrize("norm", sorted(ROWS))
def test_patch_changes_only_what_was_sent(norm: str, encoding: str) -> None:
    from rest_framework.test import APIClient

    paths = scenario.Paths()
    if not paths.has(norm, "patch"):
        pytest.skip(f"PATCH {norm} is not in the schema yet")
    if encoding == "form" and not _accepts_form(paths, norm):
        skips.not_applicable("the operation does not accept form bodies")
    api = scenario.inprocess_api()
    actors = scenario.make_actors("patch")
    world = scenario.build_world(api, actors, paths)
    role, subject, field = ROWS[norm]
    path = paths(norm, world[subject]) if subject else paths(norm)
    token = actors.token(role)
    before = _read(api, paths, world, norm, token)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    if encoding == "json":
        reply = client.patch(path, {field: "Renamed by proof"}, format="json")
    else:
        reply = client.patch(
            path, urlencode({field: "Renamed by proof"}), content_type="application/x-www-form-urlencoded"
        )
    assert reply.status_code == 200, reply.content

    after = _read(api, paths, world, norm, token)
    assert after[field] == "Renamed by proof"
    changed = {k for k in before if before[k] != after.get(k)} - VOLATILE - {field}
    assert not changed, f"{encoding} PATCH of {field!r} also changed {sorted(changed)}: {before} -> {after}"


@pytest.mark.parametrize("norm", sorted(ROWS))
def test_form_patch_with_an_empty_value_is_rejected(norm: str) -> None:
    """`name=` in a form is an explicit empty value, not 'absent': 400, and nothing changes."""
    from rest_framework.test import APIClient

    paths = scenario.Paths()
    if not paths.has(norm, "patch") or not _accepts_form(paths, norm):
        skips.not_applicable("no form PATCH here")
    api = scenario.inprocess_api()
    actors = scenario.make_actors("patch")
    world = scenario.build_world(api, actors, paths)
    role, subject, field = ROWS[norm]
    path = paths(norm, world[subject]) if subject else paths(norm)
    token = actors.token(role)
    before = _read(api, paths, world, norm, token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    reply = client.patch(path, f"{field}=", content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 400, (reply.status_code, reply.content)
    assert _read(api, paths, world, norm, token) == before
