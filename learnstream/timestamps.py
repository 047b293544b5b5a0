"""How the API writes a moment: ISO 8601 in UTC with a `Z`, as DRF's DateTimeField does with the project's
settings (USE_TZ, TIME_ZONE = "UTC"), for the hot paths that build their JSON body without a serializer."""

from datetime import UTC, datetime


def iso_time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None
