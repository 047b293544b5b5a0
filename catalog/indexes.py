"""Index declarations live next to each repository; this applies them all, idempotently.

Each repository module exposes `COLLECTION` and `INDEXES`, and optionally `SUPERSEDED_INDEXES`: names of
indexes an earlier release declared, dropped once every declared index exists (so a deployment never
runs without the replacement). `lesson_videos` (the video lifecycle's repository over the same
`lessons` collection) is picked up when it exists.
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


def apply_declared_indexes() -> tuple[list[str], list[str]]:
    """Create every declared index (no-op for existing ones), then drop the superseded ones that still
    exist. Returns `(declared index names, names dropped now)`, each as `collection.index`."""
    from catalog.repositories.base import apply_indexes, drop_indexes

    modules = _modules()
    names: list[str] = []
    for module in modules:
        indexes = getattr(module, "INDEXES", [])
        if indexes:
            names += [f"{module.COLLECTION}.{n}" for n in apply_indexes(module.COLLECTION, indexes)]
    dropped: list[str] = []
    for module in modules:
        superseded = tuple(getattr(module, "SUPERSEDED_INDEXES", ()))
        if superseded:
            dropped += [f"{module.COLLECTION}.{n}" for n in drop_indexes(module.COLLECTION, superseded)]
    return names, dropped


def ensure_indexes() -> list[str]:
    """Create every declared index and drop superseded ones (idempotent). Returns the index names."""
    return apply_declared_indexes()[0]
