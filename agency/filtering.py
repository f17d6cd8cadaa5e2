"""Filter forms as a browser sends them: a drop-down left at “全部/Any” or an empty box sends
`kind=`, which means “any”, never an invalid choice. Every FilterSet of the product derives
from `EmptyMeansAnyFilterSet`; HTML pages that read GET parameters by hand use `non_empty`."""

from typing import ClassVar

import django_filters
from django.http import QueryDict


def non_empty(data):
    """`data` (a QueryDict or a dict) without the parameters whose every value is blank."""
    if data is None:
        return None
    if hasattr(data, "lists"):
        cleaned = QueryDict(mutable=True)
        for key, values in data.lists():
            kept = [v for v in values if str(v).strip() != ""]
            if kept:
                cleaned.setlist(key, kept)
        return cleaned
    result = {}
    for key, value in data.items():
        if isinstance(value, list | tuple):
            value = [v for v in value if str(v).strip() != ""]
            if value:
                result[key] = value
        elif value is not None and str(value).strip() != "":
            result[key] = value
    return result


class EmptyMeansAnyFilterSet(django_filters.FilterSet):
    """A FilterSet that ignores blank parameters (“全部”, an empty number box) and names
    its errors by the field's label, the words the user sees next to the box."""

    # A FilterSet whose filters never change per request (no queryset- or user-dependent choices)
    # sets this: its form class is built once per process instead of once per request (django-
    # filter builds a new class every time; Django's Form still copies the fields per instance).
    static_form_class = False
    _form_classes: ClassVar[dict[type, type]] = {}

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(non_empty(data), *args, **kwargs)

    def get_form_class(self):
        if not self.static_form_class:
            return super().get_form_class()
        cls = type(self)
        form_class = EmptyMeansAnyFilterSet._form_classes.get(cls)
        if form_class is None:
            form_class = EmptyMeansAnyFilterSet._form_classes[cls] = super().get_form_class()
        return form_class

    @property
    def labelled_errors(self) -> list[tuple[str, str]]:
        """[(label, message)] for the page: “粉丝数从：请输入一个数字。”, not `followers_min`."""
        rows = []
        for name, errors in self.form.errors.items():
            field = self.form.fields.get(name)
            label = str(field.label) if field is not None and field.label else ""
            for error in errors:
                rows.append((label, str(error)))
        return rows
