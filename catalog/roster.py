"""Reading a staff enrollment roster: a JSON list of emails or a CSV upload with an `email` column.

Pure parsing, no store: the result is one `RosterRow` per submitted address (1-based `row`; CSV: data
rows, header excluded) with the normalised email or the reason it is invalid. The CSV is read as a
stream (csv over a decoded text stream) and reading stops at the first row past `MAX_ROWS`, so an
oversized roster is refused without reading the rest. Whole-roster problems (no `email` column, not
UTF-8, not CSV, too many rows) raise `ValidationFailed` before anything is written.

Values echoed back in a report go through `neutralise` (formula injection: a report opened in a
spreadsheet must never run `=cmd|…`).
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import normalize_email
from learnstream.errors import ValidationFailed

MAX_ROWS = 10_000
MAX_ECHO_LENGTH = 254  # an invalid value is echoed at most this long
EMAIL_COLUMN = "email"
# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

INVALID_EMAIL = "invalid_email"
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    raw: str
    email: str | None  # normalised; None when invalid
    error: str | None = None


def neutralise(value: str) -> str:
    """A value safe to echo into something a spreadsheet may open: formula-looking text is prefixed with
    an apostrophe, which spreadsheets show as text; control characters become U+FFFD."""
    value = value[:MAX_ECHO_LENGTH]
    if value.startswith(FORMULA_PREFIXES):
        value = "'" + value
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in value)


def _row(number: int, raw: str, seen: set[str]) -> RosterRow:
    candidate = normalize_email(raw)
    try:
        validate_email(candidate)
    except ValidationError:
        return RosterRow(row=number, raw=raw, email=None, error=INVALID_EMAIL)
    if candidate.startswith(FORMULA_PREFIXES):
        # Legal in RFC 5322's local part, but no inbox we would invite starts like a formula.
        return RosterRow(row=number, raw=raw, email=None, error=INVALID_EMAIL)
    if candidate in seen:
        return RosterRow(row=number, raw=raw, email=None, error=DUPLICATE)
    seen.add(candidate)
    return RosterRow(row=number, raw=raw, email=candidate)


def _too_many(field: str) -> ValidationFailed:
    return ValidationFailed(details={field: [f"At most {MAX_ROWS} rows."]})


def roster_from_list(values: Iterable[object]) -> list[RosterRow]:
    """The JSON form: a list of strings (anything else in the list is an invalid row)."""
    seen: set[str] = set()
    rows: list[RosterRow] = []
    for number, value in enumerate(values, start=1):
        if number > MAX_ROWS:
            raise _too_many("emails")
        if not isinstance(value, str):
            rows.append(RosterRow(row=number, raw=str(value), email=None, error=INVALID_EMAIL))
            continue
        rows.append(_row(number, value, seen))
    if not rows:
        raise ValidationFailed(details={"emails": ["Send at least one email."]})
    return rows


def roster_from_csv(binary: IO[bytes]) -> list[RosterRow]:
    """The CSV form: UTF-8 (a BOM is fine), comma-separated, a header row with an `email` column (any
    case; other columns are ignored)."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise ValidationFailed(details={"file": ["The file is empty."]})
        names = [name.strip().lower() for name in header]
        if EMAIL_COLUMN not in names:
            raise ValidationFailed(
                details={
                    "file": ["No `email` column: the first row must name the columns, one of them `email`."]
                }
            )
        column = names.index(EMAIL_COLUMN)
        seen: set[str] = set()
        rows: list[RosterRow] = []
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise _too_many("file")
            if not any(cell.strip() for cell in record):
                continue  # a blank line (e.g. a trailing newline) is not an address
            raw = record[column] if column < len(record) else ""
            rows.append(_row(number, raw, seen))
    except UnicodeDecodeError:
        raise ValidationFailed(
            details={"file": ["The file is not UTF-8 text; save the CSV as UTF-8."]}
        ) from None
    except csv.Error as exc:
        raise ValidationFailed(details={"file": [f"The file is not valid CSV: {exc}."]}) from None
    finally:
        text.detach()  # the upload stays the caller's to close
    if not rows:
        raise ValidationFailed(details={"file": ["The file has no data rows."]})
    return rows
