from django.utils.translation import gettext as _

from .base import ConnectorResult, PlatformConnector


class SimulatedConnector(PlatformConnector):
    """A stand-in platform for the demo and the tests: deterministic, no network.

    It accepts every account except those with an API call anomaly, and answers with a
    receipt number made of the platform and the account id.
    """

    name = "simulated"
    automatic = True

    def execute(self, *, item) -> ConnectorResult:
        account = item.sub_account
        if account.api_anomaly:
            return ConnectorResult(ConnectorResult.FAILED,
                                   message=_("The platform rejected the request: API call anomaly on the account."))
        return ConnectorResult(ConnectorResult.DONE, receipt_number=f"SIM-{account.platform}-{account.pk}-{item.pk}")
