import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in English (the default language is zh-hans): in services, and in
    pages (LocaleMiddleware falls back to LANGUAGE_CODE). test_pages checks the Chinese page."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_other_gates(monkeypatch):
    """The approvals app's signature gate is tested there; these tests register their own."""
    from shutdown import gates

    monkeypatch.setattr(gates, "EXECUTION_GATES", [])
