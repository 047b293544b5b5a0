"""Course prices: validated on the catalog's course document, shown on paid courses, free stays free."""

import pytest

from catalog import selectors
from catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

COURSES = "/api/v1/courses/"
NEW = {"title": "Priced", "level": "beginner"}


@pytest.mark.parametrize(
    ("price", "field"),
    [
        ({"amount": -100, "currency": "usd"}, "amount"),
        ({"amount": 0, "currency": "usd"}, "amount"),
        ({"amount": 100_000_000, "currency": "usd"}, "amount"),
        ({"amount": 2**63, "currency": "usd"}, "amount"),
        ({"amount": 12.5, "currency": "usd"}, "amount"),
        ({"amount": True, "currency": "usd"}, "amount"),
        ({"amount": "lots", "currency": "usd"}, "amount"),
        ({"amount": 100, "currency": "xyz"}, "currency"),
        ({"amount": 100, "currency": "dollars"}, "currency"),
        ({"amount": 100}, "currency"),
        ({"currency": "usd"}, "amount"),
    ],
)
def test_bad_prices_are_400_and_nothing_is_written(client_for, instructor, price, field):
    error = assert_error(client_for(instructor).post(COURSES, {**NEW, "price": price}, format="json"), 400)

    assert field in error["details"]["price"]
    assert selectors.course_get_by_slug(slug="priced") is None


def test_a_price_that_is_not_an_object_is_400(client_for, instructor):
    error = assert_error(client_for(instructor).post(COURSES, {**NEW, "price": 4900}, format="json"), 400)
    assert "price" in error["details"]


def test_prices_are_stored_normalised_changed_and_removed(client_for, instructor, api_client):
    client = client_for(instructor)
    created = client.post(COURSES, {**NEW, "price": {"amount": 99_999_999, "currency": "EUR"}}, format="json")
    assert created.status_code == 201
    assert created.json()["price"] == {"amount": 99_999_999, "currency": "eur"}
    course_id = created.json()["id"]
    stored = selectors.course_get(course_id=course_id)
    assert stored is not None
    assert stored["price"] == {"amount": 99_999_999, "currency": "eur"}

    bad = client.patch(f"{COURSES}{course_id}", {"price": {"amount": 0, "currency": "eur"}}, format="json")
    assert_error(bad, 400)
    assert selectors.course_get(course_id=course_id)["price"] == {"amount": 99_999_999, "currency": "eur"}

    freed = client.patch(f"{COURSES}{course_id}", {"price": None}, format="json")
    assert freed.status_code == 200
    assert freed.json()["price"] is None
    assert selectors.course_get(course_id=course_id)["price"] is None


def test_free_courses_have_a_null_price(client_for, instructor):
    created = client_for(instructor).post(COURSES, NEW, format="json")

    assert created.status_code == 201
    assert created.json()["price"] is None
