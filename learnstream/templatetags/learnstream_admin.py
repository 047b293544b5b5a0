"""`{% admin_dashboard %}`: the admin index's dashboard block (blocks the apps register in
`learnstream/dashboard.py`)."""

from typing import Any

from django import template

from learnstream.dashboard import dashboard_context

register = template.Library()


@register.inclusion_tag("admin/learnstream/dashboard.html", takes_context=True)
def admin_dashboard(context: template.Context) -> dict[str, Any]:
    return dashboard_context(context["request"])
