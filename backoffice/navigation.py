"""The back office's main navigation, one list: every entry names an installed page."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, permission, icon)
AGENCY_NAV = [
    ("backoffice:dashboard", _("Dashboard"), "agency.view", "dashboard"),
    ("agency:subaccount_list", _("Sub-accounts"), "subaccounts.view", "accounts"),
    ("shutdown:task_list", _("Shutdown tasks"), "tasks.view", "tasks"),
    ("approvals:policy", _("Approval policy"), "approvals.policy", "policy"),
    ("deadlines:deadline_list", _("Deadlines"), "deadlines.view", "deadlines"),
    ("deadlines:calendar", _("Calendar"), "deadlines.view", "calendar"),
    ("deadlines:alert_list", _("Alerts"), "deadlines.view", "alerts"),
    ("notifications:outbox", _("Notifications"), "deadlines.view", "outbox"),
    ("notifications:robots", _("Group robots"), "agency.settings", "robots"),
    ("agency:member_list", _("Members"), "members.view", "members"),
    ("agency:job_list", _("My jobs"), "agency.view", "jobs"),
]


def build_agency_nav(agency, access, current_path: str) -> list[dict]:
    items = []
    for url_name, label, permission, icon in AGENCY_NAV:
        if access is not None and not access.can(permission):
            continue
        url = reverse(url_name, kwargs={"agency_slug": agency.slug})
        items.append({"url": url, "label": label, "icon": icon, "active": current_path.startswith(url)})
    # The dashboard is a prefix of everything: only active on itself.
    if items and items[0]["icon"] == "dashboard":
        items[0]["active"] = current_path == items[0]["url"]
    return items
