"""MongoDB operator injection. Filters are only ever built from typed, validated values, and on
top of that any `$`-prefixed or dotted key in a query string or request body is refused (400) before a
view runs, so no client-shaped key can reach a store."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import QueryDict

from learnstream.errors import ValidationFailed

MAX_DEPTH = 32


def _bad(key: str) -> bool:
    return "$" in key or "." in key


def _walk(value: Any, path: str, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return path or "body"
    if isinstance(value, Mapping):
        for key, child in value.items():
            key = str(key)
            if _bad(key):
                return f"{path}.{key}" if path else key
            found = _walk(child, f"{path}.{key}" if path else key, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            found = _walk(child, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


# An HTML form (the browsable API) names a nested field's parts `price.amount`: plain names joined by one
# dot. DRF turns them into a nested dict for the serializer that declares the field; nothing else reads
# them, so they are allowed in form bodies only.
_FORM_NESTED_KEY = re.compile(r"[a-z_]+\.[a-z_]+")


def reject_operator_keys(*, query_keys: Iterable[str], body: Any) -> None:
    if isinstance(body, QueryDict):
        body = {k: v for k, v in body.items() if not _FORM_NESTED_KEY.fullmatch(k)}
    for key in query_keys:
        if _bad(key):
            raise ValidationFailed(
                "Query parameter names may not contain '$' or '.'.",
                details={"query": [f"Refused key {key!r}."]},
            )
    found = _walk(body, "", 0)
    if found:
        raise ValidationFailed(
            "Field names may not start with '$' or contain '.'.",
            details={"body": [f"Refused key {found!r}."]},
        )
