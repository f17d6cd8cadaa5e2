"""The sub-account list marks accounts held by a running task, linking to the task."""

from django.urls import reverse
from django.utils.translation import gettext as _


class RunningTaskBadges:
    """“In running task …” on the list rows of accounts an open task holds, linking to the task;
    read with the page's own query (two correlated subqueries over the page's rows)."""

    @staticmethod
    def annotate(queryset):
        from django.db.models import OuterRef, Subquery

        from shutdown.models import TaskItem
        from shutdown.services.tasks import OPEN_TASK_STATES
        from shutdown.states import INACTIVE_ITEM_STATES

        held = (TaskItem.objects.filter(sub_account_id=OuterRef("pk"), task__state__in=OPEN_TASK_STATES)
                .exclude(state__in=INACTIVE_ITEM_STATES).order_by("-task__created_at", "-task_id"))
        return queryset.annotate(running_task_id=Subquery(held.values("task_id")[:1]),
                                 running_task_title=Subquery(held.values("task__title")[:1]))

    @staticmethod
    def rows(*, agency, account) -> list:
        task_id = getattr(account, "running_task_id", None)
        if not task_id:
            return []
        url = reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task_id})
        return [(_("In running task “%(title)s”") % {"title": account.running_task_title}, url)]


def task_links(*, agency, account) -> list:
    """The tasks this account is (or was) in, newest first: “关停任务「…」（已完成）”."""
    from shutdown.models import TaskItem

    items = (TaskItem.objects.filter(sub_account_id=account.pk).select_related("task")
             .order_by("-task__created_at", "-pk")[:10])
    return [(_("Shutdown task “%(title)s”") % {"title": item.task.title},
             reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": item.task_id}),
             f"{item.task.get_state_display()} · {item.get_state_display()}")
            for item in items]
