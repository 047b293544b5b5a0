"""What the application exposes: operations of the drf-spectacular schema and routes of the URLconf.

Both are read from the running code (never from a hand-kept list) so that a new route shows up in the
proof tests the moment it is added, and fails them until it has an authorization-matrix row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"\{[^}]+\}")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def normalize(path: str) -> str:
    """'/api/v1/courses/{id}/' and 'api/v1/courses/<pk>' both become 'api/v1/courses/{}'."""
    path = _PARAM.sub("{}", path)
    path = _ROUTE_PARAM.sub("{}", path)
    return path.strip("/")


def load_schema() -> dict[str, Any]:
    """The OpenAPI document exactly as /api/schema/ would serve it (generated in-process)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def schema_operations(schema: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(METHOD, path) for every operation in the schema, e.g. ('GET', '/api/v1/courses/{id}/')."""
    schema = schema if schema is not None else load_schema()
    ops = []
    for path, item in (schema.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                ops.append((method.upper(), path))
    return sorted(ops)


@dataclass(frozen=True)
class Route:
    path: str  # normalized, e.g. "api/v1/courses/{}"
    methods: frozenset[str] | None  # None: a plain Django view whose methods we cannot introspect
    view: str


def _regex_to_path(regex: str) -> str | None:
    if "(?P<format>" in regex:
        return None  # DRF's format-suffix duplicates (".json"): same view, not a separate route
    path = regex.lstrip("^").rstrip("$")
    path = _NAMED_GROUP.sub("{}", path)
    path = path.replace("\\.", ".").replace("/?", "/").replace("\\Z", "")
    return path


def _pattern_text(pattern: Any) -> str | None:
    from django.urls.resolvers import RegexPattern, RoutePattern

    if isinstance(pattern, RoutePattern):
        return str(pattern._route)
    if isinstance(pattern, RegexPattern):
        return _regex_to_path(pattern._regex)
    return str(pattern)


def _view_methods(callback: Any) -> frozenset[str] | None:
    actions = getattr(callback, "actions", None)
    if actions:  # DRF ViewSet bound by a router
        return frozenset(m.upper() for m in actions if m.lower() in HTTP_METHODS)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        names = getattr(cls, "http_method_names", HTTP_METHODS)
        return frozenset(m.upper() for m in names if m in HTTP_METHODS and hasattr(cls, m))
    return None


def urlconf_routes() -> list[Route]:
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            text = _pattern_text(entry.pattern)
            if text is None:
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + text)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                name = f"{getattr(callback, '__module__', '?')}.{getattr(callback, '__name__', '?')}"
                found.append(Route(normalize(prefix + text), _view_methods(callback), name))

    walk(get_resolver().url_patterns, "")
    return found
