"""A digest of everything our stores hold, to prove that a refused request wrote nothing."""

from __future__ import annotations

import hashlib
from typing import Any

from bson import json_util

APPS = ("accounts", "catalog", "streaming", "commerce", "webhooks", "token_blacklist")


def _tables() -> list[str]:
    from django.apps import apps

    names = []
    for model in apps.get_models():
        if model._meta.app_label in APPS and not model._meta.proxy and model._meta.managed:
            names.append(model._meta.db_table)
    return sorted(set(names))


def pg_digest() -> dict[str, str]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in _tables():
            quoted = connection.ops.quote_name(table)
            # Table names come from our own models, never from input.
            digest_sql = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            cursor.execute(f"{digest_sql} FROM {quoted} t")
            count, digest = cursor.fetchone()
            out[table] = f"{count}:{digest}"
    return out


def mongo_digest() -> dict[str, str]:
    from learnstream import mongo

    db = mongo.get_db()
    out = {}
    for name in sorted(db.list_collection_names()):
        docs = list(db[name].find({}).sort("_id", 1))
        out[name] = hashlib.sha256(json_util.dumps(docs, sort_keys=True).encode()).hexdigest()
    return out


def digest() -> dict[str, Any]:
    return {"pg": pg_digest(), "mongo": mongo_digest()}


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for store in ("pg", "mongo"):
        keys = set(before[store]) | set(after[store])
        changed += [f"{store}:{k}" for k in sorted(keys) if before[store].get(k) != after[store].get(k)]
    return changed
