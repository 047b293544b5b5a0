"""What every catalog write shares: the clock (at MongoDB's precision) and the archived refusal."""

from datetime import UTC, datetime

from learnstream.errors import Conflict


def now() -> datetime:
    """Millisecond precision: what MongoDB stores, so values read back compare equal to values written."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def archived() -> Conflict:
    """The refusal of any change to an archived course (it is read-only)."""
    return Conflict("This course is archived.", details={"status": ["archived"]})
