"""Execution gates: other apps register checks that must pass before a task may execute.

A gate is `callable(*, agency, task) -> str | None`; it returns a reason (shown to the
operator, HTTP 409) when execution may not start yet, e.g. owners have not all signed.
The approvals app registers its signature gate in its AppConfig.ready().
"""

EXECUTION_GATES: list = []


def register_execution_gate(gate):
    if gate not in EXECUTION_GATES:
        EXECUTION_GATES.append(gate)
    return gate


def execution_blockers(*, agency, task) -> list[str]:
    return [reason for gate in EXECUTION_GATES if (reason := gate(agency=agency, task=task))]
