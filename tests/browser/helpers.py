"""Small steps a person takes in the admin and the browsable API, shared by the browser tests."""

import re
from typing import Any


def admin_login(page: Any, user: Any) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", user.raw_password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def api_login(page: Any, user: Any, next_url: str) -> None:
    """Log in with the browsable API's own link, then land on `next_url`."""
    page.goto(next_url)
    page.get_by_role("link", name=re.compile("log in", re.I)).first.click()
    page.fill("#id_username", user.email)
    page.fill("#id_password", user.raw_password)
    page.click("#submit-id-submit, input[type=submit], button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def run_admin_action(page: Any, *, label_contains: str, row_checkbox_values: list[str]) -> None:
    """Tick rows on a changelist, pick the action whose label contains `label_contains`, press Go,
    and confirm on an intermediate page if the action has one."""
    for value in row_checkbox_values:
        page.check(f"input.action-select[value='{value}']")
    options = page.eval_on_selector_all(
        "select[name=action] option", "els => els.map(e => [e.value, e.textContent.trim()])"
    )
    matches = [value for value, text in options if label_contains.lower() in text.lower()]
    assert matches, f"no admin action containing {label_contains!r} in {options}"
    page.select_option("select[name=action]", matches[0])
    page.click("button[name=index]")
    page.wait_for_load_state()
    confirm = page.locator("form input[type=submit][value*='Yes'], form button:has-text('Yes')")
    if confirm.count():
        confirm.first.click()
        page.wait_for_load_state()
