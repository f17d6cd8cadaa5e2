"""The preparation panel of the task page (R9.1, R9.2, R2.4): its own data, read here so that
the task page's view stays as it is (shutdown/panels.py)."""

from django import template

from rulebook.policy import policy_for
from shutdown import rules
from shutdown.models import PreparationPhase, Strategy
from shutdown.services.preparation import (
    CLOSED_TASK_STATES,
    PREPARABLE_ITEM_STATES,
    next_tier_waiting,
    preparation_of,
    preparation_summary,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def preparation_panel(context, task):
    """The checklist of the items on the page, the per-phase counts of the task, and what the next
    tier waits for (the same gates that refuse to open it). A fixed number of queries."""
    if task.strategy != Strategy.SHUTDOWN:
        return None
    agency = context["agency"]
    items = [row[0] for row in context.get("rows") or []]
    marks = preparation_of(item_ids=[i.pk for i in items])
    phases = list(PreparationPhase)
    rows = [
        {
            "item": item,
            "preparable": item.state in PREPARABLE_ITEM_STATES,
            "phases": [(phase, marks.get(item.pk, {}).get(phase.value)) for phase in phases],
        }
        for item in items
    ]
    waiting = next_tier_waiting(agency=agency, task=task)
    policy = policy_for(agency)
    return {
        "rows": rows,
        "phases": phases,
        "summary": preparation_summary(task=task),
        "waiting": waiting,
        "open": task.state not in CLOSED_TASK_STATES,
        "fan_profile": rules.FAN_PROFILE_STEP % {"d": policy.fan_profile_days},
    }
