"""POST courses/{id}/checkout against the Stripe emulator (a separate process, the unmodified SDK)."""

import time

import pytest

from catalog.models import Enrollment
from catalog.tests.helpers import assert_error
from commerce.models import Order, OrderStatus
from commerce.tests.conftest import CANCEL, SUCCESS, session_of

pytestmark = pytest.mark.django_db


def test_checkout_opens_a_pending_order_and_a_stripe_session(stripe_emulator, student, paid_course, checkout):
    response = checkout(student, paid_course)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"order_id", "checkout_url"}
    order = Order.objects.get()
    assert str(order.pk) == body["order_id"]
    assert (order.user_id, order.course_id, order.amount, order.currency, order.status) == (
        student.id, paid_course["id"], 4900, "usd", OrderStatus.PENDING,
    )  # fmt: skip
    assert order.course_title == "Paid course"
    session = session_of(stripe_emulator, body["order_id"])
    assert body["checkout_url"] == session["url"] == f"{stripe_emulator.url}/c/pay/{session['id']}"
    assert order.stripe_session_id == session["id"]
    assert session["client_reference_id"] == body["order_id"]
    assert session["metadata"] == {"order_id": body["order_id"]}
    assert (session["amount_total"], session["currency"], session["mode"]) == (4900, "usd", "payment")
    assert (session["success_url"], session["cancel_url"]) == (SUCCESS, CANCEL)
    assert session["customer_email"] == student.email
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert not Enrollment.objects.exists()  # access follows Stripe's event only


def test_a_second_checkout_reuses_the_open_order_and_its_session(
    stripe_emulator, student, paid_course, checkout
):
    first = checkout(student, paid_course).json()
    second = checkout(student, paid_course)

    assert second.status_code == 201
    assert second.json() == first
    assert Order.objects.count() == 1
    assert len(stripe_emulator.sessions()) == 1  # the idempotency key replayed the same session


def test_a_price_change_while_pending_keeps_the_orders_price(
    stripe_emulator, student, instructor, paid_course, checkout, client_for
):
    first = checkout(student, paid_course).json()
    patched = client_for(instructor).patch(
        f"/api/v1/courses/{paid_course['id']}", {"price": {"amount": 9900, "currency": "usd"}}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["price"] == {"amount": 9900, "currency": "usd"}

    again = checkout(student, paid_course).json()

    assert again["order_id"] == first["order_id"]
    order = Order.objects.get()
    assert (order.amount, order.currency) == (4900, "usd")
    assert [s["amount_total"] for s in stripe_emulator.sessions()] == [4900]


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("success_url", "https://evil.example.com/paid"),
        ("success_url", "https://learn.example.com.evil.com/paid"),
        ("success_url", "http://learn.example.com/paid"),  # scheme differs
        ("success_url", "https://learn.example.com:8443/paid"),  # port differs
        ("success_url", "https://learn.example.com@evil.com/paid"),
        ("cancel_url", "https://evil.example.com/"),
        ("cancel_url", "javascript:alert(1)"),
    ],
)
def test_redirects_outside_the_allowed_origins_are_refused_before_anything_is_written(
    stripe_emulator, student, paid_course, checkout, field, url
):
    urls = {"success": SUCCESS, "cancel": CANCEL, field.removesuffix("_url"): url}

    error = assert_error(checkout(student, paid_course, **urls), 400)

    assert field in error["details"]
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []


def test_paid_course_self_enrollment_is_402(stripe_emulator, student, paid_course, client_for):
    error = assert_error(client_for(student).post(f"/api/v1/courses/{paid_course['id']}/enroll"), 402)

    assert error["code"] == "payment_required"
    assert error["details"] == {"price": [{"amount": 4900, "currency": "usd"}]}
    assert not Enrollment.objects.exists()


def test_free_unpublished_enrolled_and_unknown_courses(
    stripe_emulator, student, instructor, make_paid_course, paid_course, checkout, client_for
):
    from catalog import services

    free = services.course_create(owner_id=instructor.id, title="Free")
    services.lesson_create(course=free, title="L", duration=1.0)
    free = services.course_publish(course=services.course_update(course=free, fields={}))
    assert_error(checkout(student, free), 409, "conflict")
    draft = make_paid_course(title="Draft", publish=False)
    assert_error(checkout(student, draft), 404, "not_found")
    assert_error(checkout(student, {"id": "0" * 24}), 404, "not_found")
    assert_error(checkout(student, {"id": "nope"}), 404, "not_found")
    Enrollment.objects.create(user=student, course_id=paid_course["id"])
    assert_error(checkout(student, paid_course), 409, "conflict")
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []


def test_checkout_needs_a_login(stripe_emulator, api_client, paid_course):
    response = api_client.post(
        f"/api/v1/courses/{paid_course['id']}/checkout", {"success_url": SUCCESS, "cancel_url": CANCEL}
    )
    assert_error(response, 401, "not_authenticated")
    assert not Order.objects.exists()


def test_stripe_failing_is_502_and_the_pending_order_is_reused(
    stripe_emulator, student, paid_course, checkout
):
    stripe_emulator.fault(status=500)

    error = assert_error(checkout(student, paid_course), 502, "payment_provider_error")

    order = Order.objects.get()
    assert (order.status, order.stripe_session_id, order.checkout_url) == (OrderStatus.PENDING, None, "")
    assert not Enrollment.objects.exists()
    assert error["message"] == "The payment provider did not accept the request. Try again later."
    retried = checkout(student, paid_course)
    assert retried.status_code == 201
    assert retried.json()["order_id"] == str(order.pk)
    assert Order.objects.count() == 1


def test_stripe_slow_is_504_and_the_retry_gets_the_same_session(
    stripe_emulator, student, paid_course, checkout
):
    stripe_emulator.fault(delay=3.0)  # over STRIPE_REQUEST_TIMEOUT_SECONDS (2 s in tests)

    assert_error(checkout(student, paid_course), 504, "payment_provider_timeout")

    order = Order.objects.get()
    assert (order.status, order.stripe_session_id) == (OrderStatus.PENDING, None)
    assert not Enrollment.objects.exists()
    retried = checkout(student, paid_course).json()
    assert retried["order_id"] == str(order.pk)
    # Stripe did create the session the slow call asked for; the retry's idempotency key returned it.
    assert len(stripe_emulator.sessions()) == 1
    assert retried["checkout_url"] == stripe_emulator.sessions()[0]["url"]
    # The slow call is still sleeping in the emulator: let it finish here, or it lands in the next
    # test's request log (which those tests assert is empty).
    deadline = time.monotonic() + 10
    while len(stripe_emulator.requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stripe_emulator.requests()) == 2


def test_stripe_unreachable_is_502(stripe_emulator, student, paid_course, checkout, settings):
    from tests.support.servers import free_port

    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    assert_error(checkout(student, paid_course), 502, "payment_provider_error")
    assert Order.objects.get().status == OrderStatus.PENDING
    assert not Enrollment.objects.exists()


def test_without_a_stripe_key_checkout_is_503(stripe_emulator, student, paid_course, checkout, settings):
    settings.STRIPE_SECRET_KEY = ""

    assert_error(checkout(student, paid_course), 503, "payments_unavailable")
    assert not Enrollment.objects.exists()


def test_an_unverified_email_cannot_check_out(stripe_emulator, student, paid_course, checkout):
    assert student.email_verified is False

    error = assert_error(checkout(student, paid_course, verify=False), 403, "email_not_verified")

    assert error["message"] == "Verify your email address before buying a course."
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []


def test_a_deactivated_user_cannot_check_out(stripe_emulator, student, paid_course, client_for):
    client = client_for(student)
    # Behind the services' back (no token revocation): the checkout itself must still refuse.
    type(student).objects.filter(pk=student.pk).update(is_active=False, email_verified=True)

    response = client.post(
        f"/api/v1/courses/{paid_course['id']}/checkout",
        {"success_url": SUCCESS, "cancel_url": CANCEL},
        format="json",
    )

    assert_error(response, 403, "permission_denied")
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []


def test_a_course_with_unmet_prerequisites_cannot_be_bought(
    stripe_emulator, student, instructor, make_paid_course, checkout, client_for
):
    first = make_paid_course(title="Part 1")
    second = make_paid_course(title="Part 2")
    patched = client_for(instructor).patch(
        f"/api/v1/courses/{second['id']}", {"prerequisites": [first["id"]]}, format="json"
    )
    assert patched.status_code == 200, patched.content

    error = assert_error(checkout(student, second), 409, "prerequisites_not_met")

    assert error["details"] == {"missing": [first["id"]]}
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []
