"""Walk the URL resolver: every agency-scoped route, with its view class."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

AGENCY_HTML_PREFIX = "a/<slug:agency_slug>/"
AGENCY_API_PREFIX = "api/v1/agencies/<slug:agency_slug>/"


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p


def all_routes():
    return list(_walk(get_resolver().url_patterns))


def agency_routes():
    return [(r, p) for r, p in all_routes() if r.startswith((AGENCY_HTML_PREFIX, AGENCY_API_PREFIX))]


def view_class_of(pattern):
    cb = pattern.callback
    return getattr(cb, "view_class", None) or getattr(cb, "cls", None)


def route_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


def fill(route: str, **values) -> str:
    """A concrete path for a route: path converters and the regex groups of DRF routers alike
    (a router route reads `…/<slug:agency_slug>/^outbox/(?P<pk>[^/.]+)/$`)."""

    def sub(m):
        return str(values[m.group(1)])

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", sub, route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", sub, path)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + path
