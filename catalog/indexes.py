"""Index declarations live next to each repository; this applies them all, idempotently.

Each repository module exposes `COLLECTION` and `INDEXES`. `lesson_videos` (the video lifecycle's
repository over the same `lessons` collection) is picked up when it exists.
"""

import importlib
from types import ModuleType

REPOSITORY_MODULES = (
    "catalog.repositories.courses",
    "catalog.repositories.lessons",
    "catalog.repositories.progress",
)
OPTIONAL_REPOSITORY_MODULES = ("catalog.repositories.lesson_videos",)


def _modules() -> list[ModuleType]:
    modules = [importlib.import_module(name) for name in REPOSITORY_MODULES]
    for name in OPTIONAL_REPOSITORY_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules


def ensure_indexes() -> list[str]:
    """Create every declared index (no-op for existing ones). Returns the index names."""
    from catalog.repositories.base import apply_indexes

    names: list[str] = []
    for module in _modules():
        indexes = getattr(module, "INDEXES", [])
        if indexes:
            names += [f"{module.COLLECTION}.{n}" for n in apply_indexes(module.COLLECTION, indexes)]
    return names
