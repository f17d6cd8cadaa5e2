"""PlatformConnector: how an item's shutdown is carried out on the platform.

`manual` (the default) is the checklist: a person follows the steps and marks the item done.
`simulated` answers like a platform would (used by the demo and the tests). A real platform
API is plugged in by adding a class here and naming it in `Agency.settings["shutdown_connector"]`.
"""

from .base import ConnectorResult, PlatformConnector
from .manual import ManualConnector
from .simulated import SimulatedConnector

CONNECTORS: dict[str, type[PlatformConnector]] = {
    ManualConnector.name: ManualConnector,
    SimulatedConnector.name: SimulatedConnector,
}


def connector_for(agency) -> PlatformConnector:
    name = ((agency.settings or {}).get("shutdown_connector") or ManualConnector.name) if agency else "manual"
    return CONNECTORS.get(name, ManualConnector)()


__all__ = ["CONNECTORS", "ConnectorResult", "ManualConnector", "PlatformConnector", "SimulatedConnector",
           "connector_for"]
