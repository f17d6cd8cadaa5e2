"""Seams between the shutdown app and the apps that react to it (they connect in their
AppConfig.ready(); this app never imports them).

item_effective: sent inside the transaction that marks an item done (the shutdown or
downgrade took effect). The deadlines app creates the item's deadlines from it.
    kwargs: agency, item, effective_at
task_cancelled: sent inside the transaction that cancels a task, after its items are
cancelled. The approvals app closes the open approval round and revokes the open
signature links.
    kwargs: agency, task, actor
shell_transition_changed: sent inside the transaction that starts or cancels an item's R9.2
shell transition. The deadlines app stores (or withdraws) the end of the transition and the
follower-migration check-ins, with their reminders.
    kwargs: agency, item, started_at, until (both None when cancelled)
"""

from django.dispatch import Signal

item_effective = Signal()
task_cancelled = Signal()
shell_transition_changed = Signal()
