from django.utils.translation import gettext as _

from .base import ConnectorResult, PlatformConnector


class ManualConnector(PlatformConnector):
    """No platform API: the operator follows the checklist and marks the item done by hand."""

    name = "manual"
    automatic = False

    def execute(self, *, item) -> ConnectorResult:
        return ConnectorResult(ConnectorResult.MANUAL, message=_("Follow the checklist, then mark the item done."))
