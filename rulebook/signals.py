"""How the apps above hear of a calendar change.

calendar_updated: sent after commit when official calendar data changed (an import, a sync,
an operator's edit), and once a day by the calendar sync as a safety net.
    kwargs: years (frozenset[int]; empty for the daily safety net)
The deadlines app recounts the deadlines it stored from the calendar.
"""

from django.dispatch import Signal

calendar_updated = Signal()
