"""The admin index dashboard: blocks of figures that apps contribute, each degrading on its own.

Rendered by `templates/admin/index.html` through the `{% admin_dashboard %}` tag
(`learnstream/templatetags/learnstream_admin.py`), so the stock `admin.site` needs no subclass. This
module knows no app: each app registers the context entries it provides from its `AppConfig.ready()`
(catalog: platform figures and links to its MongoDB pages; webhooks: the inbox). A store outage shows
"unavailable" in that block, never a 500 on the page administrators need most during an incident.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from learnstream.errors import STORE_OUTAGES, ApplicationError

logger = logging.getLogger(__name__)

UNAVAILABLE: tuple[type[BaseException], ...] = (ApplicationError, *STORE_OUTAGES)


@dataclass(frozen=True)
class Figure:
    label: str
    value: int | float | str
    url: str = ""
    alert: bool = False  # shown highlighted (e.g. failed webhook events)


@dataclass(frozen=True)
class Block:
    title: str
    figures: list[Figure] = field(default_factory=list)
    error: str = ""  # set when the block's store did not answer


def admin_url(name: str, query: str = "") -> str:
    """A reversed admin URL, or "" when that page is not wired."""
    try:
        return reverse(name) + query
    except NoReverseMatch:
        return ""


_providers: dict[str, Callable[[], Any]] = {}


def register(name: str, provider: Callable[[], Any]) -> None:
    """Make `provider()` the dashboard template's `name` (idempotent: the last registration wins)."""
    _providers[name] = provider


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    return {name: provider() for name, provider in _providers.items()}
