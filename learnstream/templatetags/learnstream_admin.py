"""`{% admin_dashboard %}`: the admin index's dashboard block (figures from learnstream.admin_site)."""

from typing import Any

from django import template

from learnstream.admin_site import dashboard_context

register = template.Library()


@register.inclusion_tag("admin/learnstream/dashboard.html", takes_context=True)
def admin_dashboard(context: template.Context) -> dict[str, Any]:
    return dashboard_context(context["request"])
