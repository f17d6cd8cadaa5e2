"""The sub-account list marks accounts held by a running task, linking to the task."""

from django.urls import reverse
from django.utils.translation import gettext as _


def running_task_badges(*, agency, accounts) -> dict:
    from shutdown.services.tasks import busy_accounts

    rows = {}
    for account, task in busy_accounts(sub_account_ids=[a.pk for a in accounts]):
        url = reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk})
        rows.setdefault(account.pk, []).append(
            (_("In running task “%(title)s”") % {"title": task.title}, url))
    return rows


def task_links(*, agency, account) -> list:
    """The tasks this account is (or was) in, newest first: “关停任务「…」（已完成）”."""
    from shutdown.models import TaskItem

    items = (TaskItem.objects.filter(sub_account_id=account.pk).select_related("task")
             .order_by("-task__created_at", "-pk")[:10])
    return [(_("Shutdown task “%(title)s”") % {"title": item.task.title},
             reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": item.task_id}),
             f"{item.task.get_state_display()} · {item.get_state_display()}")
            for item in items]
