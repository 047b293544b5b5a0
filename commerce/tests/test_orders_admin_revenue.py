"""Orders as the learner and the admin see them, the admin site's order list and refund action, and the
course revenue in analytics."""

from typing import Any

import pytest
from django.test import Client

from catalog.models import Enrollment, EnrollmentStatus
from catalog.tests.helpers import assert_error
from catalog.tests.video.video_helpers import run_on_commit  # noqa: F401
from commerce.models import Order, OrderStatus
from commerce.tests.test_stripe_webhooks import buy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def test_learners_see_only_their_orders_admins_see_and_filter_all(
    stripe_emulator, api_client, checkout, student, other_student, admin_user, paid_course, client_for
):
    mine = buy(stripe_emulator, api_client, checkout, student, paid_course)
    theirs = checkout(other_student, paid_course).json()["order_id"]

    listed = client_for(student).get("/api/v1/orders/").json()
    assert [o["id"] for o in listed["results"]] == [str(mine.pk)]
    assert client_for(student).get(f"/api/v1/orders/{mine.pk}").json()["status"] == "paid"
    assert_error(client_for(student).get(f"/api/v1/orders/{theirs}"), 404)
    assert_error(client_for(student).get("/api/v1/orders/not-a-uuid"), 404)
    # A learner's ?user= cannot widen the list to someone else's orders.
    assert client_for(student).get(f"/api/v1/orders/?user={other_student.id}").json()["count"] == 1

    admin = client_for(admin_user)
    assert admin.get("/api/v1/orders/").json()["count"] == 2
    assert [o["id"] for o in admin.get(f"/api/v1/orders/?user={other_student.id}").json()["results"]] == [
        theirs
    ]
    assert [o["id"] for o in admin.get("/api/v1/orders/?status=paid").json()["results"]] == [str(mine.pk)]
    assert admin.get(f"/api/v1/orders/?course={paid_course['id']}").json()["count"] == 2
    assert admin.get(f"/api/v1/orders/?course={'0' * 24}").json()["count"] == 0
    assert_error(admin.get("/api/v1/orders/?status=bogus"), 400)
    assert_error(admin.get("/api/v1/orders/?course=nope"), 400)
    assert admin.get(f"/api/v1/orders/{theirs}").json()["status"] == "pending"


def test_refunding_an_unpaid_order_is_409_and_calls_nobody(
    stripe_emulator, student, admin_user, paid_course, checkout, client_for
):
    order_id = checkout(student, paid_course).json()["order_id"]
    before = len(stripe_emulator.requests())

    assert_error(client_for(admin_user).post(f"/api/v1/orders/{order_id}/refund"), 409)
    assert_error(client_for(student).post(f"/api/v1/orders/{order_id}/refund"), 403)

    assert len(stripe_emulator.requests()) == before
    assert Order.objects.get().refund_requested_at is None


def test_stripe_failing_on_refund_is_502_and_the_order_stays_paid(
    stripe_emulator, api_client, checkout, student, admin_user, paid_course, client_for
):
    order = buy(stripe_emulator, api_client, checkout, student, paid_course)
    stripe_emulator.fault(status=503)

    assert_error(client_for(admin_user).post(f"/api/v1/orders/{order.pk}/refund"), 502)

    order.refresh_from_db()
    assert (order.status, order.refund_requested_at) == (OrderStatus.PAID, None)
    assert stripe_emulator.state()["refunds"] == []


def test_admin_site_lists_filters_and_refunds_orders(
    stripe_emulator, api_client, checkout, student, other_student, admin_user, paid_course
):
    paid = buy(stripe_emulator, api_client, checkout, student, paid_course)
    pending = checkout(other_student, paid_course).json()["order_id"]
    web = Client()
    assert web.login(email=admin_user.email, password=admin_user.raw_password)

    listing = web.get("/admin/commerce/order/")
    assert listing.status_code == 200
    assert {str(o.pk) for o in listing.context["cl"].result_list} == {str(paid.pk), pending}
    assert "49.00 USD" in listing.content.decode()
    filtered = web.get("/admin/commerce/order/?status__exact=paid")
    assert [str(o.pk) for o in filtered.context["cl"].result_list] == [str(paid.pk)]

    response = web.post(
        "/admin/commerce/order/",
        {"action": "refund_orders", "_selected_action": [str(paid.pk), pending]},
        follow=True,
    )

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "Refund requested for 1 order(s).",
        "1 order(s) skipped: only paid orders can be refunded.",
    ]
    assert [r["payment_intent"] for r in stripe_emulator.state()["refunds"]] == [
        paid.stripe_payment_intent_id
    ]
    assert stripe_emulator.post_event(api_client, stripe_emulator.event("charge.refunded")).status_code == 200
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.REFUNDED
    assert not Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).exists()
    assert web.get(f"/admin/commerce/order/{paid.pk}/change/").status_code == 200
    assert web.get("/admin/commerce/order/add/").status_code == 403


def _refund(stripe_emulator: Any, intent: str, amount: int) -> None:
    import stripe

    client = stripe.StripeClient(stripe_emulator.api_key, base_addresses={"api": stripe_emulator.url})
    client.v1.refunds.create(params={"payment_intent": intent, "amount": amount})


def test_course_analytics_show_revenue_net_of_refunds(
    stripe_emulator, api_client, checkout, make_user, instructor, paid_course, client_for, settings
):
    settings.CATALOG_ANALYTICS_CACHE_SECONDS = 0
    buyers = [make_user() for _ in range(3)]
    orders = []
    for buyer in buyers:
        orders.append(buy(stripe_emulator, api_client, checkout, buyer, paid_course))
    # One full refund, one partial refund of 900.
    for order, amount in ((orders[0], 4900), (orders[1], 900)):
        _refund(stripe_emulator, order.stripe_payment_intent_id, amount)
        assert (
            stripe_emulator.post_event(api_client, stripe_emulator.events("charge.refunded")[-1]).status_code
            == 200
        )

    body = client_for(instructor).get(f"/api/v1/courses/{paid_course['id']}/analytics").json()

    assert body["revenue"] == {"usd": 4900 - 900 + 4900}
    assert body["enrollments"] == 2
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["refunded", "paid", "paid"]


def test_free_course_analytics_have_no_revenue(stripe_emulator, instructor, client_for, settings):
    from catalog import services

    settings.CATALOG_ANALYTICS_CACHE_SECONDS = 0
    free = services.course_create(owner_id=instructor.id, title="Free")

    body = client_for(instructor).get(f"/api/v1/courses/{free['id']}/analytics").json()

    assert "revenue" not in body


def test_the_browsable_api_renders_the_orders_list_and_its_errors(stripe_emulator, student, client_for):
    client = client_for(student)

    assert client.get("/api/v1/orders/", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/api/v1/orders/?status=bogus", HTTP_ACCEPT="text/html").status_code == 400
