"""OpenAPI generation for agency-scoped views.

Schema generation inspects every view's queryset to learn its model; there is no
request agency at that point, so it runs with scopes disabled. Querysets are only
introspected (`.model`), never evaluated, so nothing is read across agencies.
"""

from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator


class ScopedSchemaGenerator(SchemaGenerator):
    def get_schema(self, request=None, public=False):
        with scopes_disabled():
            return super().get_schema(request=request, public=public)
