"""How the approvals app reacts to the shutdown lifecycle (connected in ApprovalsConfig.ready)."""

from .services.decisions import round_cancel_open
from .services.signatures import signatures_revoke_open


def on_task_cancelled(sender, *, agency, task, actor, **kwargs):
    """A task was cancelled (inside its transaction): the round in progress closes and the
    owners' open signature links stop working."""
    round_cancel_open(agency=agency, task=task)
    signatures_revoke_open(agency=agency, task=task, actor=actor)
