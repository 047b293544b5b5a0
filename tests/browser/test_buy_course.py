"""A learner buys a paid course in Chromium: the browsable API's checkout form, Stripe's hosted page (the
project's Stripe emulator, a separate process), the redirect back, and the enrollment that Stripe's
signed webhook creates."""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from catalog import selectors, services
from catalog.models import Enrollment
from commerce.models import Order, OrderStatus
from tests.browser.helpers import api_login

pytestmark = pytest.mark.live


def test_a_learner_buys_a_course_in_the_browser(
    page, live_server, screenshot, stripe_emulator, settings, instructor, student
):
    settings.CHECKOUT_REDIRECT_ORIGINS = [live_server.url]
    type(student).objects.filter(pk=student.pk).update(email_verified=True)
    stripe_emulator.set_webhook_url(f"{live_server.url}/webhooks/stripe")
    course = services.course_create(
        owner_id=instructor.id, title="Paid in Chromium", price={"amount": 2500, "currency": "eur"}
    )
    services.lesson_create(course=course, title="Lesson 1", duration=30.0)
    course = services.course_publish(course=selectors.course_get(course_id=course["id"]))
    checkout_path = f"/api/v1/courses/{course['id']}/checkout"
    try:
        api_login(page, student, checkout_path)
        form = page.locator("#post-generic-content-form, #post-object-form").first
        form.locator("[name=success_url]").fill(f"{live_server.url}/api/v1/orders/")
        form.locator("[name=cancel_url]").fill(f"{live_server.url}/api/v1/courses/{course['id']}")
        form.locator("button.btn-primary").click()
        page.wait_for_load_state()
        expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
        answer = json.loads(page.locator(".response-info pre").inner_text().split("\n\n", 1)[1])
        assert not Enrollment.objects.exists()
        screenshot("checkout-created")

        page.goto(answer["checkout_url"])  # Stripe's hosted page (the emulator's)
        expect(page.locator("#amount")).to_have_text("25.00 EUR")
        screenshot("stripe-checkout")
        page.locator("#pay").click()
        page.wait_for_url(re.compile(re.escape(f"{live_server.url}/api/v1/orders/")))

        deadline = time.monotonic() + 15  # the webhook arrives on its own, right after the payment
        while (
            Order.objects.get(pk=answer["order_id"]).status != OrderStatus.PAID
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        page.reload()
        listing = page.locator(".response-info")
        expect(listing).to_contain_text(answer["order_id"])
        expect(listing).to_contain_text('"status": "paid"')
        screenshot("orders-paid")
        page.goto("/api/v1/enrollments/")
        expect(page.locator(".response-info")).to_contain_text("Paid in Chromium")
    finally:
        stripe_emulator.set_webhook_url(None)

    assert list(Enrollment.objects.values_list("user_id", "course_id", "status")) == [
        (student.id, course["id"], "active")
    ]
    order = Order.objects.get()
    assert (order.status, order.paid_amount, order.paid_currency) == (OrderStatus.PAID, 2500, "eur")
