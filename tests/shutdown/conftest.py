import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is zh-hans)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_other_gates(monkeypatch):
    """The approvals app's signature gate is tested there; these tests register their own."""
    from shutdown import gates

    monkeypatch.setattr(gates, "EXECUTION_GATES", [])
