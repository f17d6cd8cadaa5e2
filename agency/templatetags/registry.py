from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ badges|get_item:a.pk }}`: a value of a dict by a variable key ([] when absent)."""
    if not mapping:
        return []
    return mapping.get(key, [])


@register.filter
def contact_mobile(value, may_see: bool):
    """`{{ a.owner_mobile|contact_mobile:can_see_contacts }}`: 138****8013 unless the member may see it."""
    from agency.privacy import mask_mobile

    return value if may_see else mask_mobile(value)


@register.filter
def contact_email(value, may_see: bool):
    from agency.privacy import mask_email

    return value if may_see else mask_email(value)
