"""Execution gates: other apps register checks that must pass before a task may execute.

A gate is `callable(*, agency, task) -> str | None`; it returns a reason (shown to the
operator, HTTP 409) when execution may not start yet, e.g. owners have not all signed.
The approvals app registers its signature gate in its AppConfig.ready().
"""

EXECUTION_GATES: list = []
# Tier gates: `callable(*, agency, tier) -> str | None`, checked each time a tier opens (the first
# one included). The shutdown app registers its own (R9.1 preparation, R9.2 shell transition:
# shutdown.services.preparation) in ShutdownConfig.ready().
TIER_GATES: list = []


def register_execution_gate(gate):
    if gate not in EXECUTION_GATES:
        EXECUTION_GATES.append(gate)
    return gate


def execution_blockers(*, agency, task) -> list[str]:
    return [reason for gate in EXECUTION_GATES if (reason := gate(agency=agency, task=task))]


def register_tier_gate(gate):
    if gate not in TIER_GATES:
        TIER_GATES.append(gate)
    return gate


def tier_blockers(*, agency, tier) -> list[str]:
    return [reason for gate in TIER_GATES if (reason := gate(agency=agency, tier=tier))]
