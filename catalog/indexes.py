"""Index declarations live next to each repository (one per collection); this applies them all, idempotently.

Each repository module exposes `COLLECTION` and `INDEXES`, optionally `MORE_INDEXES` (`{collection:
indexes}` for the other collections it owns) and `SUPERSEDED_INDEXES`: names of indexes an earlier
release declared, dropped once every declared index exists (so a deployment never runs without the
replacement).
"""

from types import ModuleType

from catalog.repositories import activity, captions, courses, lessons, progress, rollups
from catalog.repositories.base import apply_indexes, drop_indexes

REPOSITORY_MODULES: tuple[ModuleType, ...] = (courses, lessons, progress, rollups, captions, activity)


def apply_declared_indexes() -> tuple[list[str], list[str]]:
    """Create every declared index (no-op for existing ones), then drop the superseded ones that still
    exist. Returns `(declared index names, names dropped now)`, each as `collection.index`."""
    names: list[str] = []
    for module in REPOSITORY_MODULES:
        indexes = getattr(module, "INDEXES", [])
        if indexes:
            names += [f"{module.COLLECTION}.{n}" for n in apply_indexes(module.COLLECTION, indexes)]
        for name, more in getattr(module, "MORE_INDEXES", {}).items():
            names += [f"{name}.{n}" for n in apply_indexes(name, more)]
    dropped: list[str] = []
    for module in REPOSITORY_MODULES:
        superseded = tuple(getattr(module, "SUPERSEDED_INDEXES", ()))
        if superseded:
            dropped += [f"{module.COLLECTION}.{n}" for n in drop_indexes(module.COLLECTION, superseded)]
    return names, dropped


def ensure_indexes() -> list[str]:
    """Create every declared index and drop superseded ones (idempotent). Returns the index names."""
    return apply_declared_indexes()[0]
