"""Seams between the shutdown app and the apps that react to it.

item_effective: sent inside the transaction that marks an item done (the shutdown or
downgrade took effect). The deadlines app creates the item's deadlines from it.
    kwargs: agency, item, effective_at
task_approved: sent when the last approval level completes (signatures start).
    kwargs: agency, task
"""

from django.dispatch import Signal

item_effective = Signal()
task_approved = Signal()
