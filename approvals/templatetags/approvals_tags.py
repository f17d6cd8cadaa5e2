from django import template

from ..selectors import task_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_panel(context, task, access):
    """{% approval_panel task access as panel %}: the approval panel's data for the current user."""
    request = context.get("request")
    return task_panel(task=task, user=request.user, access=access)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, 0)


@register.filter
def pairs(mapping):
    """(key, value) pairs of a dict; safe when the dict has a key named "items"."""
    return list(dict.items(mapping)) if isinstance(mapping, dict) else []
