"""Admin users API /api/v1/users/ (list, filters, pagination cap, retrieve, PATCH, last admin)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.conftest import ME, USERS, assert_error, bearer
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user, client_for):
    return client_for(admin_user)


def test_list_users(admin_client, admin_user, student, instructor):
    response = admin_client.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert (body["next"], body["previous"]) == (None, None)
    assert [row["id"] for row in body["results"]] == sorted([admin_user.pk, student.pk, instructor.pk])
    assert set(body["results"][0]) == {"id", "email", "name", "role", "is_active", "date_joined"}


def test_list_filters_by_role_and_searches_email_and_name(admin_client, make_user):
    alice = make_user("instructor", email="alice@school.example", name="Alice Smith")
    make_user("student", email="bob@school.example", name="Bob Jones")
    carol = make_user("student", email="carol@other.example", name="Carol Smithson")

    by_role = admin_client.get(USERS, {"role": "instructor"}).json()
    by_name = admin_client.get(USERS, {"search": "SMITH"}).json()
    by_email = admin_client.get(USERS, {"search": "school.example", "role": "student"}).json()

    assert [u["id"] for u in by_role["results"]] == [alice.pk]
    assert [u["id"] for u in by_name["results"]] == [alice.pk, carol.pk]
    assert [u["email"] for u in by_email["results"]] == ["bob@school.example"]


def test_list_rejects_an_unknown_role(admin_client):
    assert_error(admin_client.get(USERS, {"role": "superhero"}), 400, "validation_error")


def test_page_size_is_capped_at_100(admin_client, make_user):
    User.objects.bulk_create([User(email=f"bulk{i}@example.com", name=f"Bulk {i}") for i in range(120)])

    body = admin_client.get(USERS, {"page_size": 100000}).json()

    assert body["count"] == 121
    assert len(body["results"]) == 100
    assert body["next"] is not None
    assert len(admin_client.get(USERS).json()["results"]) == 20  # default page size


def test_retrieve_user(admin_client, student):
    response = admin_client.get(f"{USERS}{student.pk}")

    assert response.status_code == 200
    assert response.json()["email"] == student.email


@pytest.mark.parametrize("path", ["999999", "abc", "1.5"])
def test_retrieve_unknown_or_malformed_id_is_404(admin_client, path):
    assert_error(admin_client.get(f"{USERS}{path}"), 404, "not_found")


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_non_admins_are_forbidden(make_user, client_for, role):
    user = make_user(role)
    client = client_for(user)

    assert_error(client.get(USERS), 403, "permission_denied")
    assert_error(client.get(f"{USERS}{user.pk}"), 403, "permission_denied")
    assert_error(
        client.patch(f"{USERS}{user.pk}", {"role": "admin"}, format="json"), 403, "permission_denied"
    )
    assert User.objects.get(pk=user.pk).role == role


def test_anonymous_is_401(api_client):
    assert_error(api_client.get(USERS), 401, "not_authenticated")


def test_patch_changes_role_active_and_name_and_ignores_the_rest(admin_client, student):
    response = admin_client.patch(
        f"{USERS}{student.pk}",
        {"role": "instructor", "name": "Promoted", "email": "x@example.com", "auth_epoch": 9, "id": 1},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["role"] == "instructor"
    stored = User.objects.get(pk=student.pk)
    assert (stored.role, stored.name, stored.email, stored.auth_epoch) == (
        "instructor",
        "Promoted",
        student.email,
        1,
    )


def test_name_change_alone_does_not_revoke(admin_client, student):
    access, _rt = issue_token_pair(student)

    assert (
        admin_client.patch(f"{USERS}{student.pk}", {"name": "Just a rename"}, format="json").status_code
        == 200
    )

    assert bearer(access).get(ME).status_code == 200
    assert User.objects.get(pk=student.pk).auth_epoch == 0


def test_put_is_405(admin_client, student):
    assert_error(
        admin_client.put(f"{USERS}{student.pk}", {"name": "x"}, format="json"), 405, "method_not_allowed"
    )


def test_patch_validates(admin_client, student):
    response = admin_client.patch(
        f"{USERS}{student.pk}", {"role": "root", "is_active": "maybe"}, format="json"
    )

    assert set(assert_error(response, 400, "validation_error")["details"]) == {"role", "is_active"}
    assert User.objects.get(pk=student.pk).role == "student"


@pytest.mark.parametrize("change", [{"role": "instructor"}, {"is_active": False}])
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(admin_client, admin_user, change):
    response = admin_client.patch(f"{USERS}{admin_user.pk}", change, format="json")

    assert_error(response, 409, "last_active_admin")
    stored = User.objects.get(pk=admin_user.pk)
    assert (stored.role, stored.is_active, stored.auth_epoch) == ("admin", True, 0)


def test_an_admin_may_step_down_when_another_admin_remains(admin_client, admin_user, make_user):
    make_user("admin")

    assert (
        admin_client.patch(f"{USERS}{admin_user.pk}", {"role": "student"}, format="json").status_code == 200
    )
    assert_error(admin_client.get(USERS), 401, "token_revoked")  # the demotion applies to the caller too


def test_an_inactive_admin_does_not_count(admin_client, admin_user, make_user):
    make_user("admin", is_active=False)

    assert_error(
        admin_client.patch(f"{USERS}{admin_user.pk}", {"is_active": False}, format="json"),
        409,
        "last_active_admin",
    )


def test_concurrent_mutual_demotion_leaves_one_admin(transactional_db):
    """Two admins demote each other at the same moment: the row locks serialise them, one gets 409."""
    admins = [
        User.objects.create_user(email=f"boss{i}@example.com", password="boss-passphrase-99", role="admin")
        for i in range(2)
    ]
    clients = []
    for me, other in ((admins[0], admins[1]), (admins[1], admins[0])):
        access, _ = issue_token_pair(me)
        clients.append((bearer(access), other.pk))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def demote(client: APIClient, target: int) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(client.patch(f"{USERS}{target}", {"role": "student"}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert User.objects.filter(role="admin", is_active=True).count() == 1
    # The loser is refused either by the last-admin rule (409) or because the winner's demotion of
    # them already revoked their token (401); never a 5xx.
    assert sorted(statuses)[0] == 200
    assert sorted(statuses)[1] in {401, 403, 409}


def test_browsable_api_pages_render_for_a_session_admin(admin_user, client):
    """The browsable API (session auth) renders the auth and users pages for humans."""
    client.force_login(admin_user)

    for url in (ME, USERS, f"{USERS}{admin_user.pk}"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")


def test_form_patch_renames_without_touching_unsent_checkboxes(admin_user, student):
    """The browsable API sends forms: an unticked (absent) `is_active` must not deactivate anyone."""
    access, _ = issue_token_pair(admin_user)

    response = bearer(access).patch(
        f"{USERS}{student.pk}", "name=Renamed", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200, response.content
    student.refresh_from_db()
    assert (student.name, student.is_active, student.role) == ("Renamed", True, "student")


@pytest.mark.parametrize("url", ["me", "user"])
def test_form_patch_with_an_empty_name_is_rejected(url, admin_user, student):
    access, _ = issue_token_pair(admin_user)
    path = ME if url == "me" else f"{USERS}{student.pk}"
    before = User.objects.get(pk=admin_user.pk if url == "me" else student.pk).name

    response = bearer(access).patch(path, "name=", content_type="application/x-www-form-urlencoded")

    assert_error(response, 400, "validation_error")
    assert User.objects.get(pk=admin_user.pk if url == "me" else student.pk).name == before
