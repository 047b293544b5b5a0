"""`User.email_verified`: new registrations start unverified; accounts that existed before the field,
createsuperuser and the demo seed count as verified; `me` shows it."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User
from accounts.tests.conftest import ME, REGISTER


@pytest.mark.django_db
def test_a_registered_account_starts_unverified_and_me_says_so(api_client, client_for):
    response = api_client.post(
        REGISTER,
        {"email": "new@example.com", "password": "a-Very-long-passphrase-1", "name": "New"},
        format="json",
    )
    assert response.status_code == 201
    user = User.objects.get(email="new@example.com")

    assert user.email_verified is False
    assert client_for(user).get(ME).json()["email_verified"] is False
    User.objects.filter(pk=user.pk).update(email_verified=True)
    assert client_for(user).get(ME).json()["email_verified"] is True


@pytest.mark.django_db
def test_createsuperuser_makes_a_verified_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-Very-long-passphrase-1")
    call_command("createsuperuser", "--noinput", "--email", "root@example.com", verbosity=0)

    admin = User.objects.get(email="root@example.com")
    assert (admin.role, admin.email_verified) == ("admin", True)
    assert User.objects.create_user(email="plain@example.com", password="x").email_verified is False


@pytest.mark.django_db(transaction=True)
def test_accounts_that_existed_before_the_migration_count_as_verified():
    before, after = (
        [("accounts", "0003_hash_refresh_tokens_session_epoch")],
        [("accounts", "0004_email_verified_one_time_tokens")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_user = executor.loader.project_state(before).apps.get_model("accounts", "User")
    old_user.objects.create(email="old@example.com", password="!", name="Old")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        call_command("migrate", verbosity=0)  # whatever happened, leave the schema at the latest state

    assert User.objects.get(email="old@example.com").email_verified is True
    assert User.objects.create_user(email="fresh@example.com", password="x").email_verified is False
