"""Test helpers of the approvals tests (tasks: tests.builders.make_task)."""

from django_scopes import scope

from approvals.services.policy import approval_policy_save


def three_levels(world, *, strategy: str = ""):
    """operator → legal → finance, one approval each, SLA 24/48/24 hours."""
    with scope(agency=world.agency):
        return approval_policy_save(agency=world.agency, name="三级审批", strategy=strategy, levels=[
            {"name": "运营", "role": "operator", "mode": "any", "sla_hours": 24},
            {"name": "法务", "role": "legal", "mode": "any", "sla_hours": 48},
            {"name": "财务", "role": "finance", "mode": "any", "sla_hours": 24},
        ])


def api(world, path: str) -> str:
    return f"/api/v1/agencies/{world.agency.slug}/{path}"
