"""The `courses` collection.

Document: `{_id, title, title_sort, slug, description, tags[], level, status, owner_id, lesson_ids[],
sections: [{_id, title, lesson_ids[]}], layout_rev, sequential, prerequisites[], created_at, updated_at,
published_at}`. `lesson_ids` and `sections` are the curriculum (see `catalog/layout.py`); they are
rewritten in one single-document update, which MongoDB applies atomically, so a reader sees either the
old or the new order and never two lessons with the same position.

Why sections live inside the course document and not in a collection of their own: a reorder of
sections, or a move of lessons within and across sections, then touches exactly one document, so it is
one atomic compare-and-set (on `layout_rev`, bumped by every layout write) with nothing half-written and
no multi-document transaction; the curriculum and every lesson-access lookup read the order with the
course in the same round trip; and a course is bounded (500 lessons, 100 sections), far below the
document size limit.
The enrollment policy (`enrollment, capacity, enrollment_opens_at, enrollment_closes_at, access_days`)
is stored next to them; absent = the defaults.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError
from pymongo.operations import IndexModel

from catalog.layout import Section, member_sections
from catalog.repositories.base import (
    Document,
    DuplicateKey,
    collection,
    duplicate_key_field,
    insert_new,
    is_object_id,
    oid,
    oids,
)
from catalog.repositories.lessons import COLLECTION as LESSONS
from catalog.repositories.lessons import to_lesson
from catalog.types import ENROLLMENT_POLICY_FIELDS, Course, Lesson, Price

COLLECTION = "courses"

# Every ordering ends with _id so pages are stable when the first key ties.
ORDERINGS: dict[str, list[tuple[str, int]]] = {
    "-published_at": [("published_at", DESCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
    "title": [("title_sort", ASCENDING), ("_id", ASCENDING)],
    "-created_at": [("created_at", DESCENDING), ("_id", DESCENDING)],
}

INDEXES = [
    IndexModel([("slug", ASCENDING)], unique=True, name="slug_unique"),
    # One per list ordering: `status` (the visibility filter) then exactly that ordering's sort keys,
    # tie-breakers included, so MongoDB walks the index in order and stops after skip + limit instead
    # of sorting every matching course in memory.
    IndexModel(
        [("status", ASCENDING), *ORDERINGS["-published_at"]], name="status_published_at_created_at_id"
    ),
    IndexModel([("status", ASCENDING), *ORDERINGS["-created_at"]], name="status_created_at_id"),
    IndexModel([("status", ASCENDING), *ORDERINGS["title"]], name="status_title_sort_id"),
    IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner_created_at"),
    IndexModel([("tags", ASCENDING)], name="tags"),
    # `sections/{id}` finds its course by the section id (multikey).
    IndexModel([("sections._id", ASCENDING)], name="sections_id", sparse=True),
]
# Earlier list indexes without the tie-breakers (each a prefix of its replacement): dropped once the
# replacements exist, by `manage.py mongo_indexes`.
SUPERSEDED_INDEXES = ("status_published_at", "status_created_at", "status_title")

EDITABLE_FIELDS = frozenset(
    {
        "title",
        "slug",
        "description",
        "tags",
        "level",
        "sequential",
        "prerequisites",
        "price",
        "downloadable",
        *ENROLLMENT_POLICY_FIELDS,
    }
)
ID_LIST_FIELDS = frozenset({"prerequisites"})  # stored as ObjectIds


@dataclass(frozen=True)
class CourseQuery:
    """A typed course filter. Courses match when their status is in `statuses`, or when they belong to
    `or_owner_id` and their status is in `or_owner_statuses`; the other fields narrow the result."""

    statuses: tuple[str, ...]
    or_owner_id: int | None = None
    or_owner_statuses: tuple[str, ...] = ()
    owner_id: int | None = None
    tag: str | None = None
    level: str | None = None
    search: str | None = None


def _to_section(doc: Document) -> Section:
    return {
        "id": str(doc["_id"]),
        "title": str(doc.get("title", "")),
        "lesson_ids": [str(i) for i in doc.get("lesson_ids", [])],
    }


def _section_doc(section: Section) -> Document:
    return {"_id": oid(section["id"]), "title": section["title"], "lesson_ids": oids(section["lesson_ids"])}


def _rev_filter(expected_rev: int) -> Any:
    # Courses written before layouts had a revision have none: missing counts as 0.
    return {"$in": [None, 0]} if expected_rev == 0 else expected_rev


def _to_course(doc: Document) -> Course:
    lesson_ids = [str(i) for i in doc.get("lesson_ids", [])]
    return {
        "id": str(doc["_id"]),
        "title": doc["title"],
        "slug": doc["slug"],
        "description": doc.get("description", ""),
        "tags": list(doc.get("tags", [])),
        "level": doc["level"],
        "status": doc["status"],
        "owner_id": int(doc["owner_id"]),
        "lesson_ids": lesson_ids,
        "sections": member_sections([_to_section(d) for d in doc.get("sections", [])], lesson_ids),
        "layout_rev": int(doc.get("layout_rev", 0)),
        "sequential": bool(doc.get("sequential", False)),
        "prerequisites": [str(i) for i in doc.get("prerequisites", [])],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "published_at": doc.get("published_at"),
        "price": _to_price(doc.get("price")),
        "downloadable": bool(doc.get("downloadable", False)),
        "enrollment": doc.get("enrollment") or "open",
        "capacity": doc.get("capacity"),
        "enrollment_opens_at": doc.get("enrollment_opens_at"),
        "enrollment_closes_at": doc.get("enrollment_closes_at"),
        "access_days": doc.get("access_days"),
    }


def _one_of(values: tuple[str, ...]) -> Any:
    # An equality where one value will do: SecantusDB counts a one-element `$in` about half as fast.
    return values[0] if len(values) == 1 else {"$in": list(values)}


def _to_price(value: Any) -> Price | None:
    if not isinstance(value, dict):
        return None
    return {"amount": int(value["amount"]), "currency": str(value["currency"])}


def _build_filter(query: CourseQuery) -> Document:
    # Built only from typed, validated values: no client-supplied dict ever becomes a filter.
    visibility: list[Document] = [{"status": _one_of(query.statuses)}]
    if query.or_owner_id is not None and query.or_owner_statuses:
        visibility.append({"owner_id": query.or_owner_id, "status": _one_of(query.or_owner_statuses)})
    clauses: list[Document] = [visibility[0] if len(visibility) == 1 else {"$or": visibility}]
    if query.owner_id is not None:
        clauses.append({"owner_id": query.owner_id})
    if query.tag is not None:
        clauses.append({"tags": query.tag})
    if query.level is not None:
        clauses.append({"level": query.level})
    if query.search:
        pattern = {"$regex": re.escape(query.search), "$options": "i"}
        clauses.append({"$or": [{"title": pattern}, {"tags": pattern}]})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class CourseRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def insert(
        self,
        *,
        course_id: str,
        title: str,
        slug: str,
        description: str,
        tags: list[str],
        level: str,
        owner_id: int,
        now: datetime,
        sequential: bool = False,
        prerequisites: list[str] | None = None,
        price: Price | None = None,
        downloadable: bool = False,
        policy: dict[str, Any] | None = None,
    ) -> Course:
        doc: Document = {
            **{k: v for k, v in (policy or {}).items() if k in ENROLLMENT_POLICY_FIELDS},
            "_id": oid(course_id),
            "title": title,
            "title_sort": title.casefold(),
            "slug": slug,
            "description": description,
            "tags": tags,
            "level": level,
            "status": "draft",
            "owner_id": owner_id,
            "lesson_ids": [],
            "sections": [],
            "layout_rev": 0,
            "sequential": sequential,
            "prerequisites": oids(prerequisites or []),
            "price": price,
            "downloadable": downloadable,
            "created_at": now,
            "updated_at": now,
        }
        try:
            insert_new(self.col, doc)
        except DuplicateKeyError as exc:
            raise DuplicateKey(duplicate_key_field(exc)) from exc
        return _to_course(doc)

    def get(self, *, course_id: str) -> Course | None:
        if not is_object_id(course_id):
            return None
        doc = self.col.find_one({"_id": oid(course_id)}, {"title_sort": 0})
        return _to_course(doc) if doc else None

    def get_by_slug(self, *, slug: str) -> Course | None:
        doc = self.col.find_one({"slug": slug}, {"title_sort": 0})
        return _to_course(doc) if doc else None

    def get_many(self, *, course_ids: list[str]) -> dict[str, Course]:
        ids = oids(course_ids)
        if not ids:
            return {}
        return {str(d["_id"]): _to_course(d) for d in self.col.find({"_id": {"$in": ids}}, {"title_sort": 0})}

    def find(self, *, query: CourseQuery, ordering: str, offset: int, limit: int) -> list[Course]:
        cursor = (
            self.col.find(_build_filter(query), {"title_sort": 0})
            .sort(ORDERINGS[ordering])
            .skip(offset)
            .limit(limit)
        )
        return [_to_course(d) for d in cursor]

    def count(self, *, query: CourseQuery) -> int:
        return self.col.count_documents(_build_filter(query))

    def update_fields(
        self, *, course_id: str, fields: dict[str, Any], now: datetime, unless_status: str
    ) -> Course | None:
        """Set editable fields unless the course is in `unless_status`; None when nothing matched."""
        changes = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
        for key in ID_LIST_FIELDS & changes.keys():
            changes[key] = oids(list(changes[key]))
        if "title" in changes:
            changes["title_sort"] = str(changes["title"]).casefold()
        try:
            doc = self.col.find_one_and_update(
                {"_id": oid(course_id), "status": {"$ne": unless_status}},
                {"$set": {**changes, "updated_at": now}},
                projection={"title_sort": 0},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError as exc:
            raise DuplicateKey(duplicate_key_field(exc)) from exc
        return _to_course(doc) if doc else None

    def transition(
        self,
        *,
        course_id: str,
        from_statuses: tuple[str, ...],
        to_status: str,
        now: datetime,
        require_lessons: bool = False,
        set_published_at: bool = False,
    ) -> Course | None:
        """Compare-and-set the status; None when the course is not in `from_statuses` (or has no
        lessons while `require_lessons`)."""
        flt: Document = {"_id": oid(course_id), "status": {"$in": list(from_statuses)}}
        if require_lessons:
            flt["lesson_ids.0"] = {"$exists": True}
        update: Document = {"$set": {"status": to_status, "updated_at": now}}
        if set_published_at:
            # `published_at` is absent until the first publication; $min sets it then and keeps that
            # first time across later unpublish/publish cycles.
            update["$min"] = {"published_at": now}
        doc = self.col.find_one_and_update(
            flt, update, projection={"title_sort": 0}, return_document=ReturnDocument.AFTER
        )
        return _to_course(doc) if doc else None

    def add_lesson(
        self, *, course_id: str, lesson_id: str, index: int | None, unless_status: str, now: datetime
    ) -> bool:
        push: Document = {"$each": [oid(lesson_id)]}
        if index is not None:
            push["$position"] = index
        result = self.col.update_one(
            {"_id": oid(course_id), "status": {"$ne": unless_status}},
            {"$push": {"lesson_ids": push}, "$set": {"updated_at": now}, "$inc": {"layout_rev": 1}},
        )
        return result.matched_count == 1

    def remove_lesson(
        self, *, course_id: str, lesson_id: str, keep_one_if_status: str | None, now: datetime
    ) -> bool:
        """Pull the lesson from the order. With `keep_one_if_status`, refuse (False) to remove the last
        lesson of a course in that status."""
        flt: Document = {"_id": oid(course_id), "lesson_ids": oid(lesson_id)}
        if keep_one_if_status is not None:
            flt["$or"] = [{"status": {"$ne": keep_one_if_status}}, {"lesson_ids.1": {"$exists": True}}]
        # The id may stay in a section's list: readers ignore ids the course no longer has
        # (`catalog.layout.member_sections`) and the next layout write drops it.
        result = self.col.update_one(
            flt,
            {"$pull": {"lesson_ids": oid(lesson_id)}, "$set": {"updated_at": now}, "$inc": {"layout_rev": 1}},
        )
        return result.matched_count == 1

    def replace_lesson_order(
        self, *, course_id: str, expected: list[str], new_order: list[str], now: datetime, unless_status: str
    ) -> Course | None:
        """Atomically replace the order, but only if it still holds exactly the `expected` ids (compare
        and set: a concurrent add/remove makes this return None instead of losing the other write)."""
        expected_ids = oids(expected)
        doc = self.col.find_one_and_update(
            {
                "_id": oid(course_id),
                "status": {"$ne": unless_status},
                "lesson_ids": {
                    "$size": len(expected_ids),
                    **({"$all": expected_ids} if expected_ids else {}),
                },
            },
            {"$set": {"lesson_ids": oids(new_order), "updated_at": now}, "$inc": {"layout_rev": 1}},
            projection={"title_sort": 0},
            return_document=ReturnDocument.AFTER,
        )
        return _to_course(doc) if doc else None

    def replace_layout(
        self,
        *,
        course_id: str,
        expected_rev: int,
        sections: list[Section],
        lesson_ids: list[str],
        now: datetime,
        unless_status: str,
    ) -> Course | None:
        """Atomically replace sections and lesson order, iff no layout write happened since
        `expected_rev` was read (compare-and-set); None otherwise (or when the course is in
        `unless_status`)."""
        doc = self.col.find_one_and_update(
            {
                "_id": oid(course_id),
                "status": {"$ne": unless_status},
                "layout_rev": _rev_filter(expected_rev),
            },
            {
                "$set": {
                    "sections": [_section_doc(s) for s in sections],
                    "lesson_ids": oids(lesson_ids),
                    "updated_at": now,
                },
                "$inc": {"layout_rev": 1},
            },
            projection={"title_sort": 0},
            return_document=ReturnDocument.AFTER,
        )
        return _to_course(doc) if doc else None

    def add_section(
        self, *, course_id: str, section: Section, index: int | None, unless_status: str, now: datetime
    ) -> Course | None:
        """Insert a section (one atomic `$push`, no compare-and-set needed: it changes no other part)."""
        push: Document = {"$each": [_section_doc(section)]}
        if index is not None:
            push["$position"] = index
        doc = self.col.find_one_and_update(
            {"_id": oid(course_id), "status": {"$ne": unless_status}},
            {"$push": {"sections": push}, "$set": {"updated_at": now}, "$inc": {"layout_rev": 1}},
            projection={"title_sort": 0},
            return_document=ReturnDocument.AFTER,
        )
        return _to_course(doc) if doc else None

    def get_with_lessons(self, *, course_id: str) -> tuple[Course, list[Lesson]] | None:
        """The course and its lesson documents in one aggregate (the curriculum read)."""
        if not is_object_id(course_id):
            return None
        pipeline: list[Document] = [
            {"$match": {"_id": oid(course_id)}},
            {"$limit": 1},
            {"$project": {"title_sort": 0}},
            {
                "$lookup": {
                    "from": LESSONS,
                    "localField": "_id",
                    "foreignField": "course_id",
                    "as": "lesson_docs",
                }
            },
        ]
        docs = list(self.col.aggregate(pipeline))
        if not docs:
            return None
        doc = docs[0]
        lessons = [to_lesson(d) for d in doc.pop("lesson_docs", [])]
        return _to_course(doc), lessons

    def get_by_section(self, *, section_id: str) -> Course | None:
        if not is_object_id(section_id):
            return None
        doc = self.col.find_one({"sections._id": oid(section_id)}, {"title_sort": 0})
        return _to_course(doc) if doc else None

    def prerequisite_graph(self, *, course_ids: list[str]) -> dict[str, tuple[str, int, list[str]]]:
        """id → (status, owner id, prerequisite ids) for the given courses (one query)."""
        ids = oids(course_ids)
        if not ids:
            return {}
        cursor = self.col.find({"_id": {"$in": ids}}, {"status": 1, "owner_id": 1, "prerequisites": 1})
        return {
            str(d["_id"]): (
                str(d["status"]),
                int(d["owner_id"]),
                [str(i) for i in d.get("prerequisites", [])],
            )
            for d in cursor
        }

    def all_ids(self) -> list[str]:
        """Every course id (maintenance commands only)."""
        return [str(d["_id"]) for d in self.col.find({}, {"_id": 1})]

    def count_by_status(self) -> dict[str, int]:
        rows = self.col.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])
        return {str(r["_id"]): int(r["n"]) for r in rows}

    def slugs_with_prefix(self, *, prefix: str, limit: int) -> set[str]:
        cursor = self.col.find({"slug": {"$regex": "^" + re.escape(prefix)}}, {"slug": 1}).limit(limit)
        return {d["slug"] for d in cursor}
