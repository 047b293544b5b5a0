"""Commerce fixtures: paid courses built through the catalog's services, checkouts through the API."""

from collections.abc import Callable
from typing import Any

import pytest

from catalog import selectors, services
from catalog.types import Course
from tests.support.stripe import StripeEmulatorHandle

SUCCESS = "https://learn.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://learn.example.com/cancelled"


@pytest.fixture
def make_paid_course(db: None, instructor: Any) -> Callable[..., Course]:
    def make(
        *, amount: int = 4900, currency: str = "usd", title: str = "Paid course", publish: bool = True
    ) -> Course:
        course = services.course_create(
            owner_id=instructor.id, title=title, price={"amount": amount, "currency": currency}
        )
        services.lesson_create(course=course, title="Lesson 1", duration=60.0)
        current = selectors.course_get(course_id=course["id"])
        assert current is not None
        if publish:
            current = services.course_publish(course=current)
        return current

    return make


@pytest.fixture
def paid_course(make_paid_course: Callable[..., Course]) -> Course:
    return make_paid_course()


@pytest.fixture
def checkout(client_for: Callable[[Any], Any]) -> Callable[..., Any]:
    """POST courses/{id}/checkout as `user` (whose email is marked verified first, unless `verify` is
    False: checkout needs a verified address); returns the response."""

    def do(
        user: Any, course: Course, *, success: str = SUCCESS, cancel: str = CANCEL, verify: bool = True
    ) -> Any:
        if verify and not user.email_verified:
            type(user).objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
        return client_for(user).post(
            f"/api/v1/courses/{course['id']}/checkout",
            {"success_url": success, "cancel_url": cancel},
            format="json",
        )

    return do


def session_of(stripe: StripeEmulatorHandle, order_id: str) -> dict[str, Any]:
    found = [s for s in stripe.sessions() if s["metadata"].get("order_id") == order_id]
    assert len(found) == 1, found
    return found[0]
