"""Cache keys always carry the agency: one agency can never read another's cached value."""

from django.core.cache import cache


def agency_cache_key(agency, *parts) -> str:
    agency_id = getattr(agency, "pk", agency)
    if agency_id in (None, ""):
        raise ValueError("A cache key needs an agency")
    return ":".join(["agency", str(agency_id), *map(str, parts)])


def agency_cache_get(agency, *parts, default=None):
    return cache.get(agency_cache_key(agency, *parts), default)


def agency_cache_set(agency, *parts, value, timeout=300):
    cache.set(agency_cache_key(agency, *parts), value, timeout)
