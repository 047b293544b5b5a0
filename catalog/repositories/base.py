"""What every repository shares: collection access, id conversion, index application.

`catalog/repositories/` is the only package that imports pymongo/bson. Everything it hands out is a plain
typed dict with string ids; nothing here knows about HTTP, permissions or business rules.
"""

import logging
import re
from typing import Any, TypeVar

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.operations import IndexModel

from learnstream import mongo

Document = dict[str, Any]
logger = logging.getLogger(__name__)

_OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
INDEX_NOT_FOUND = 27  # server error code of dropIndexes for a name that does not exist
BAD_VALUE = 2  # the server's error code for a hint naming no index (MongoDB and SecantusDB alike)


class DuplicateKey(Exception):
    """A unique index refused the write; `key` names the index's first field."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def collection(name: str) -> Collection[Document]:
    # Resolved at call time: the database name comes from settings (tests use one per test).
    return mongo.get_db()[name]


def is_object_id(value: str) -> bool:
    return bool(_OBJECT_ID_RE.fullmatch(value))  # `$` alone also matches before a trailing "\n"


def oid(value: str) -> ObjectId:
    """Convert an id the caller has already validated (see `is_object_id`)."""
    return ObjectId(value)


def oids(values: list[str]) -> list[ObjectId]:
    return [ObjectId(v) for v in values if is_object_id(v)]


# Longest `$in` list sent in one command. SecantusDB (the embedded default) answers an indexed `$in` in
# time that grows with the list and then falls off a cliff: against 20,000 lessons, 25 course ids took
# ~30 ms and 100 took ~4.4 s (past the MongoDB deadline). Batches of 25 keep a 100-course page at four
# short reads there and cost real MongoDB a few extra sub-millisecond round trips.
IN_BATCH = 25
_T = TypeVar("_T")


# Most documents written by one insert command. One `insert_many` is one operation under one deadline,
# and SecantusDB holds its collection lock for all of it: 10,000 small documents took ~1 s on a quiet
# machine and ran past the 2 s MongoDB deadline on a busy one (a rebuild of a 10,000-learner course).
INSERT_BATCH = 1000


def in_batches(values: list[_T], size: int = IN_BATCH) -> list[list[_T]]:
    """`values` cut into lists of at most `size`: IN_BATCH for `$in` reads, INSERT_BATCH for inserts;
    one command per batch."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def insert_all(col: Collection[Document], docs: list[Document]) -> None:
    """Insert `docs` one INSERT_BATCH per command, so each command stays well inside the deadline."""
    for batch in in_batches(docs, INSERT_BATCH):
        col.insert_many(batch)


def new_id() -> str:
    return str(ObjectId())


def apply_indexes(name: str, indexes: list[IndexModel]) -> list[str]:
    """Create the declared indexes (createIndexes is a no-op for identical existing ones)."""
    if not indexes:
        return []
    return collection(name).create_indexes(indexes)


def drop_indexes(name: str, index_names: tuple[str, ...]) -> list[str]:
    """Drop the named indexes that exist; returns those dropped. Idempotent: a name already gone (also
    when a concurrent run dropped it first) is skipped."""
    col = collection(name)
    present = set(col.index_information()) & set(index_names)
    dropped: list[str] = []
    for index_name in sorted(present):
        try:
            col.drop_index(index_name)
        except OperationFailure as exc:
            if exc.code != INDEX_NOT_FOUND:
                raise
            continue
        dropped.append(index_name)
    return dropped


def aggregate_hinted(col: Collection[Document], pipeline: list[Document], *, index: str) -> list[Document]:
    """Run `pipeline` with its first `$match` on `index`, so index use does not depend on the planner
    (SecantusDB's, for one, may scan the collection for a `$match`). If the index is missing (indexes
    not applied yet) the server refuses the hint: run unhinted rather than fail the request."""
    try:
        return list(col.aggregate(pipeline, hint=index))
    except OperationFailure as exc:
        if exc.code != BAD_VALUE or "hint" not in str(exc).lower():
            raise
        logger.warning("%s index %r missing (run manage.py mongo_indexes); unhinted query", col.name, index)
        return list(col.aggregate(pipeline))


def upsert_returning(col: Collection[Document], flt: Document, update: list[Document]) -> Document | None:
    """`findAndModify` with an upserting pipeline `update`, answering the document after the write (None
    only if an acknowledged write vanished). Two first writes racing to insert: the loser's retry
    matches the winner's document. MongoDB always returns the document for upsert + AFTER; SecantusDB
    (our test server) sometimes answers `value: null` when concurrent upserts collide although the
    write is applied: it is read back then, and later writes may have landed since (callers that need
    what *their* write changed record it in the document, keyed by a write id)."""
    doc: Document | None = None
    for attempt in range(2):
        try:
            doc = col.find_one_and_update(flt, update, upsert=True, return_document=ReturnDocument.AFTER)
            break
        except DuplicateKeyError:
            if attempt == 1:
                raise
    return doc if doc is not None else col.find_one(flt)


def insert_new(col: Collection[Document], doc: Document) -> None:
    """Insert a document whose `_id` we just generated. pymongo retries a write once when the answer is
    lost; if the first attempt had landed, the retry fails on our own `_id`: the insert happened, so
    that is success, not an error (only a unique index on another field can really refuse it)."""
    try:
        col.insert_one(doc)
    except DuplicateKeyError as exc:
        if duplicate_key_field(exc) != "_id":
            raise


def duplicate_key_field(exc: DuplicateKeyError) -> str:
    details = exc.details or {}
    key_pattern = details.get("keyPattern") or details.get("keyValue") or {}
    if key_pattern:
        return str(next(iter(key_pattern)))
    match = re.search(r"index: (\w+)", str(exc))
    return match.group(1) if match else "unknown"
