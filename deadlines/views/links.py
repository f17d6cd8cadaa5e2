"""The link from a sub-account's page to its deadlines and reminders timeline."""

from django.urls import reverse
from django.utils.translation import gettext as _


def timeline_links(*, agency, account) -> list:
    return [(_("Deadlines and reminders timeline"),
             reverse("deadlines:account_timeline", kwargs={"agency_slug": agency.slug, "pk": account.pk}), "")]
