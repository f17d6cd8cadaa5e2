"""Agency-level audit records (AgencyAuditEvent)."""

from agency.models import Agency, AgencyAuditEvent


def export_unmasked_record(*, agency: Agency, actor, fmt: str, form: str, rows: int, params: dict) -> AgencyAuditEvent:
    """An export that showed account holders' unmasked contacts (PIPL): who, when, what."""
    return AgencyAuditEvent.objects.create(
        agency=agency, actor=actor, action=AgencyAuditEvent.Action.EXPORT_UNMASKED,
        data={"format": fmt, "form": form, "rows": rows, "filter": params},
    )
