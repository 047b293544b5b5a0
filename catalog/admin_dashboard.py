"""The catalog's blocks on the admin dashboard (registered by `CatalogConfig.ready`)."""

import logging
from typing import Any

from catalog.analytics import analytics_overview
from learnstream.dashboard import UNAVAILABLE, Block, Figure, admin_url

logger = logging.getLogger(__name__)


def _label(key: str) -> str:
    return key.replace("_", " ").replace(" 7d", " (last 7 days)").strip().capitalize()


def _flatten(overview: dict[str, Any]) -> list[Block]:
    """analytics/overview → one block per group: dicts (users by role…) become a block, numbers a row."""
    totals = Block(title="Totals")
    blocks: list[Block] = []
    for key, value in overview.items():
        if isinstance(value, dict):
            blocks.append(
                Block(
                    title=_label(key),
                    figures=[Figure(label=_label(str(k)), value=v) for k, v in value.items()],
                )
            )
        elif isinstance(value, int | float):
            totals.figures.append(Figure(label=_label(key), value=value))
    return [*blocks, totals] if totals.figures else blocks


def overview_blocks() -> list[Block]:
    """The `GET analytics/overview` figures (users by role, courses by status, enrollments, watching)."""
    try:
        overview = analytics_overview()
    except UNAVAILABLE as exc:
        logger.warning("admin dashboard: analytics overview unavailable: %s", type(exc).__name__)
        return [Block(title="Platform overview", error="Unavailable: a data store is not answering.")]
    return _flatten(dict(overview))


def catalog_links() -> list[Figure]:
    """The custom MongoDB catalog pages (catalog/admin_urls.py)."""
    links = [
        Figure(label="Courses", value="", url=admin_url("catalog_admin:course_list")),
        Figure(label="Lessons", value="", url=admin_url("catalog_admin:lesson_list")),
    ]
    return [link for link in links if link.url]
