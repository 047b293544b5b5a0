"""One-time tokens (accounts/onetime.py): hashed at rest, expiring, single-use, superseded by a newer
one, invalidated by a password or email change, and not spent by an action that refuses."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import OneTimeToken, User
from accounts.onetime import InvalidToken, one_time_token_issue, one_time_token_use, token_digest, token_new
from learnstream.errors import ValidationFailed

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
RESET = "password_reset"


def use(raw: str, purpose: str = RESET) -> tuple[int, dict[str, object]]:
    return one_time_token_use(purpose=purpose, raw=raw, action=lambda user, data: (user.pk, data))


def test_token_new_gives_a_urlsafe_secret_and_its_sha256():
    raw, digest = token_new()
    other, _ = token_new()

    assert len(raw) == 43
    assert raw != other
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert digest == token_digest(raw) == hashlib.sha256(raw.encode()).hexdigest()


def test_only_the_digest_is_stored_with_an_expiry(student):
    before = timezone.now()
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR, data={"k": "v"})

    row = OneTimeToken.objects.get()
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {row.digest, row.state, str(row.data)}
    assert (row.user_id, row.purpose, row.data) == (student.pk, RESET, {"k": "v"})
    assert before + HOUR <= row.expires_at <= timezone.now() + HOUR


def test_a_token_works_once(student):
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR, data={"k": "v"})

    assert use(raw) == (student.pk, {"k": "v"})
    assert OneTimeToken.objects.count() == 0
    with pytest.raises(InvalidToken):
        use(raw)


def test_an_expired_token_is_refused(student):
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)
    OneTimeToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(InvalidToken) as refused:
        use(raw)
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_token")


def test_a_newer_token_supersedes_the_older_one_of_the_same_purpose(student):
    first = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)
    verify = one_time_token_issue(user=student, purpose="email_verify", lifetime=HOUR)
    second = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)

    with pytest.raises(InvalidToken):
        use(first)
    assert use(second)[0] == student.pk
    assert use(verify, "email_verify")[0] == student.pk  # another purpose is not superseded


def test_issuing_leaves_other_users_tokens_alone_and_drops_expired_ones(student, other_student):
    mine = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)
    stale = one_time_token_issue(user=other_student, purpose="email_verify", lifetime=HOUR)
    OneTimeToken.objects.filter(digest=token_digest(stale)).update(expires_at=timezone.now())

    theirs = one_time_token_issue(user=other_student, purpose=RESET, lifetime=HOUR)

    assert set(OneTimeToken.objects.values_list("digest", flat=True)) == {
        token_digest(mine),
        token_digest(theirs),
    }


def test_a_password_change_invalidates_the_token(student):
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)
    student.set_password("another-Long-passphrase-2")
    student.save(update_fields=["password"])

    with pytest.raises(InvalidToken):
        use(raw)


def test_an_email_change_invalidates_the_token(student):
    raw = one_time_token_issue(user=student, purpose="email_verify", lifetime=HOUR)
    User.objects.filter(pk=student.pk).update(email="moved@example.com")

    with pytest.raises(InvalidToken):
        use(raw, "email_verify")


def test_a_token_of_another_purpose_or_a_deactivated_user_is_refused(student):
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)

    with pytest.raises(InvalidToken):
        use(raw, "email_verify")
    User.objects.filter(pk=student.pk).update(is_active=False)
    with pytest.raises(InvalidToken):
        use(raw)
    assert OneTimeToken.objects.count() == 1


def test_an_action_that_refuses_leaves_the_token_usable(student):
    raw = one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)

    def refuse(user: User, data: dict[str, object]) -> None:
        User.objects.filter(pk=user.pk).update(name="half-written")
        raise ValidationFailed(details={"new_password": ["too short"]})

    with pytest.raises(ValidationFailed):
        one_time_token_use(purpose=RESET, raw=raw, action=refuse)

    assert User.objects.get(pk=student.pk).name == "Stu Dent"  # rolled back
    assert use(raw)[0] == student.pk


@pytest.mark.parametrize("raw", ["", "x" * 129, "not-a-token"])
def test_garbage_is_refused(student, raw):
    one_time_token_issue(user=student, purpose=RESET, lifetime=HOUR)

    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        use(raw)
    selects = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == (0 if raw in {"", "x" * 129} else 1)  # an overlong value is not even looked up
    assert OneTimeToken.objects.count() == 1
