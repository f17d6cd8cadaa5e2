"""Which channels a member is told by, per kind of message.

The agency decides what may be used (agency.settings["notification_channels"] = {kind: [channels]};
by default in-app and email for every kind, and SMS where a template for it is configured);
each member picks among those on the *Notification settings* page. A choice applies wherever
a message of that kind is stored for the member: reminders keep to the channels of the
agency's reminder rules (a member can leave some out), approval messages go by the channels
the member chose. No choice stored: what the sender does by default.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from agency.exceptions import DomainValidationError
from notifications.models import MEMBER_KINDS, MESSAGE_KIND_LABELS, Channel, ChannelPreference
from notifications.sms.config import sms_available

ALL_CHANNELS = [Channel.INAPP.value, Channel.EMAIL.value, Channel.SMS.value]


def allowed_channels(*, agency, kind: str) -> list[str]:
    rules = ((agency.settings or {}).get("notification_channels") or {}).get(kind)
    allowed = [c for c in ALL_CHANNELS if rules is None or c in rules]
    return [c for c in allowed if c != Channel.SMS or sms_available(kind)]


def preferences_for(*, agency, user) -> dict[str, list[str]]:
    """The member's stored choices by kind (kinds without a choice are absent)."""
    return dict(ChannelPreference.objects.filter(agency=agency, user=user).values_list("kind", "channels"))


def chosen_by_user(*, agency, user_ids, kind: str) -> dict[int, set[str]]:
    """{user id: channels} for the members (of `user_ids`) who chose for `kind`: one query."""
    rows = ChannelPreference.objects.filter(agency=agency, user_id__in=list(user_ids), kind=kind)
    allowed = set(allowed_channels(agency=agency, kind=kind))
    return {user_id: set(channels) & allowed for user_id, channels in rows.values_list("user_id", "channels")}


def channels_by_user(*, agency, users, kind: str, default) -> dict[int, list[str]]:
    """{user id: the channels to tell them about a `kind` message by}: their choice where they
    made one, else `default`. One query for all of them."""
    users = list(users)
    chosen = chosen_by_user(agency=agency, user_ids=[u.pk for u in users], kind=kind)
    return {
        u.pk: [c for c in ALL_CHANNELS if c in chosen[u.pk]] if u.pk in chosen else list(default)
        for u in users
    }


def channels_for_user(*, agency, user, kind: str, default) -> list[str]:
    """The channels to tell `user` about a `kind` message by: their choice, else `default`."""
    return channels_by_user(agency=agency, users=[user], kind=kind, default=default)[user.pk]


def preferences_save(*, agency, user, choices: dict[str, list[str]]) -> dict[str, list[str]]:
    """Store the member's choices ({kind: [channels]}) for every member kind at once. A kind
    needs at least one channel; a channel the agency does not allow is refused; nothing is
    saved when anything is wrong."""
    errors = {}
    clean = {}
    for kind in MEMBER_KINDS:
        chosen = [c for c in ALL_CHANNELS if c in set(choices.get(kind) or [])]
        label = str(MESSAGE_KIND_LABELS[kind])
        allowed = allowed_channels(agency=agency, kind=kind)
        refused = [c for c in chosen if c not in allowed]
        if refused:
            errors[kind] = _("“%(kind)s”: your agency does not send these by %(channels)s.") % {
                "kind": label,
                "channels": "、".join(str(Channel(c).label) for c in refused),
            }
        elif not chosen:
            errors[kind] = _("“%(kind)s”: keep at least one way of being told.") % {"kind": label}
        clean[kind] = chosen
    unknown = sorted(set(choices) - set(MEMBER_KINDS))
    if unknown:
        errors["kind"] = _("Unknown kind of message: %(kinds)s.") % {"kinds": ", ".join(unknown)}
    if errors:
        raise DomainValidationError(" ".join(str(e) for e in errors.values()), details=errors)
    with transaction.atomic():
        for kind, channels in clean.items():
            ChannelPreference.objects.update_or_create(
                agency=agency, user=user, kind=kind, defaults={"channels": channels}
            )
    return clean
