from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectorResult:
    status: str  # "done" | "failed" | "manual"
    receipt_number: str = ""
    message: str = ""

    DONE = "done"
    FAILED = "failed"
    MANUAL = "manual"


class PlatformConnector(ABC):
    name: str = ""
    automatic: bool = False

    def steps(self, *, item, policy) -> list:
        """The steps a person follows for this item (the per-item checklist)."""
        from shutdown.rules import checklist

        task = item.task
        return checklist(sub_account=item.sub_account, strategy=task.strategy, policy=policy,
                         topic_transfer_target=item.topic_transfer_target,
                         matrix_target_name=str(task.matrix_target or ""))

    @abstractmethod
    def execute(self, *, item) -> ConnectorResult:
        """Carry out the item's shutdown (or downgrade) on the platform."""
