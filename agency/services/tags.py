"""Tags: normalisation and the index table behind the `tag=` filter."""

import re
from collections.abc import Iterable

from django_scopes import scope

from agency.bulksql import insert_arrays, is_postgresql
from agency.models import SubAccount, SubAccountTag

TAG_MAX_LENGTH = SubAccountTag._meta.get_field("name").max_length
# People separate tags with commas, semicolons, Chinese enumeration commas or bars.
TAG_SEPARATORS = re.compile(r"[,，;；、|\n]+")


def tags_normalise(value) -> list[str]:
    """A list or a delimited string → a sorted list of distinct, trimmed tags."""
    if value is None:
        return []
    items = TAG_SEPARATORS.split(value) if isinstance(value, str) else [str(v) for v in value]
    return sorted({t.strip() for t in items if t and t.strip()})


def subaccount_tags_reindex(*, agency_id: int, accounts: Iterable[SubAccount]) -> None:
    """Make SubAccountTag rows match each account's `tags` list (idempotent, two or three queries)."""
    accounts = [a for a in accounts if a.pk]
    if not accounts:
        return
    wanted = {(a.pk, name) for a in accounts for name in tags_normalise(a.tags)}
    with scope(agency=agency_id):
        existing = dict(
            ((sid, name), pk)
            for pk, sid, name in SubAccountTag.objects.filter(
                subaccount_id__in_ids=(a.pk for a in accounts)
            ).values_list("pk", "subaccount_id", "name")
        )
        stale = [pk for key, pk in existing.items() if key not in wanted]
        if stale:
            SubAccountTag.objects.filter(pk__in=stale).delete()
        missing = sorted(wanted - existing.keys())
        if missing and is_postgresql():  # one INSERT … SELECT FROM unnest(arrays): 3 parameters, no instances
            insert_arrays(SubAccountTag, ["agency_id", "subaccount_id", "name"],
                          [(agency_id, sid, name) for sid, name in missing], ignore_conflicts=True)
        elif missing:
            SubAccountTag.objects.bulk_create(
                [SubAccountTag(agency_id=agency_id, subaccount_id=sid, name=name) for sid, name in missing],
                batch_size=1000, ignore_conflicts=True,
            )


def on_subaccount_saved(sender, instance: SubAccount, raw=False, **kwargs) -> None:
    """post_save hook: every single-row save (services, admin, factories, demo) keeps the index."""
    if raw:
        return
    subaccount_tags_reindex(agency_id=instance.agency_id, accounts=[instance])
